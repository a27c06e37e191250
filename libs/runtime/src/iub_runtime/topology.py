"""The Redis topology (IUB_REDIS_MODE): one server, Sentinel or Cluster — clients and durable writes.

The one place that builds Redis clients: the redis-py client for the plain work (Lua scripts,
MULTI, the claimer, statistics) and the FastStream broker (``RedisBroker``,
``RedisSentinelBroker``, ``RedisClusterBroker``). Replication is Redis' own; what this module adds
is ``WAIT``: a write counts only once ``IUB_MIN_REPLICAS_ACK`` replicas have it, because a primary
that dies right after an XADD loses it even with ``appendfsync always`` (replication is async).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faststream.redis import RedisBroker
from redis import exceptions as redis_exc
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

from iub_runtime.settings import RuntimeSettings


class ReplicasNotAcked(redis_exc.TimeoutError):
    """Fewer replicas than IUB_MIN_REPLICAS_ACK confirmed a write in time: it may not survive a failover."""


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1"), int(port or 6379)


def is_cluster(redis: Any) -> bool:
    """Whether a client talks to a Redis Cluster."""
    return isinstance(redis, RedisCluster)


def connect_redis(settings: RuntimeSettings, *, max_connections: int | None = None, **kw: Any) -> Any:
    """The redis-py asyncio client for the configured topology (never connects before the first command)."""
    size = max_connections or settings.redis_max_connections
    if settings.redis_mode == "sentinel":
        if not settings.redis_sentinels:
            raise ValueError("IUB_REDIS_MODE=sentinel needs IUB_REDIS_SENTINELS")
        sentinel = Sentinel([_host_port(s) for s in settings.redis_sentinels], socket_timeout=2,
                            password=settings.redis_password, **kw)
        # the SentinelConnectionPool asks the sentinels for the current primary on every reconnect
        return sentinel.master_for(settings.redis_master_name, max_connections=size,
                                   password=settings.redis_password, **kw)
    if settings.redis_mode == "cluster":
        if not settings.redis_cluster_nodes:
            raise ValueError("IUB_REDIS_MODE=cluster needs IUB_REDIS_CLUSTER_NODES")
        nodes = [ClusterNode(*_host_port(n)) for n in settings.redis_cluster_nodes]
        return RedisCluster(startup_nodes=nodes, max_connections=size, password=settings.redis_password,
                            require_full_coverage=True, **kw)
    # a blocking pool waits for a free connection instead of failing a whole batch under load
    return Redis(connection_pool=BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=size, timeout=30, **kw))


def make_broker(settings: RuntimeSettings, **kw: Any) -> RedisBroker:
    """The FastStream broker for the configured topology (FastStream's own Sentinel and Cluster brokers)."""
    if settings.redis_mode == "sentinel":
        from faststream.redis.broker.sentinel_broker import RedisSentinelBroker

        return RedisSentinelBroker(sentinels=[_host_port(s) for s in settings.redis_sentinels],
                                   sentinel_master_name=settings.redis_master_name,
                                   password=settings.redis_password, **kw)
    if settings.redis_mode == "cluster":
        from faststream.redis.broker.cluster_broker import RedisClusterBroker

        first, *rest = [_host_port(n) for n in settings.redis_cluster_nodes]
        return RedisClusterBroker(host=first[0], port=first[1], startup_nodes=rest,
                                  password=settings.redis_password, **kw)
    return RedisBroker(settings.redis_url, **kw)


async def execute_acked(redis: Any, pipe: Any, routing_keys: Sequence[str], replicas: int, timeout_ms: int,
                        ) -> list[Any]:
    """Execute a pipeline and WAIT on the same connection(s); raise ReplicasNotAcked if too few replicas have it.

    The pipeline's commands run on one connection per node, so a WAIT queued behind them covers
    exactly those writes. In a cluster one WAIT is queued per node the routing keys live on.
    Returns the results of the caller's commands (the WAIT answers removed).
    """
    if replicas <= 0:
        return await pipe.execute()
    if is_cluster(redis):
        await redis.initialize()  # the slot map (once; a no-op afterwards)
        nodes = {}
        for key in routing_keys:
            node = redis.get_node_from_key(key)
            nodes[node.name] = node
        for node in nodes.values():
            pipe.execute_command("WAIT", replicas, timeout_ms, target_nodes=node)
        count = len(nodes)
    else:
        pipe.execute_command("WAIT", replicas, timeout_ms)
        count = 1
    results = await pipe.execute()
    acked = results[-count:]
    if any(int(a) < replicas for a in acked):
        raise ReplicasNotAcked(f"{min(int(a) for a in acked)} of {replicas} replicas acknowledged in {timeout_ms} ms")
    return results[:-count]


def replication_rule(settings: RuntimeSettings) -> tuple[int, int]:
    """(replicas, timeout_ms) every durable write uses."""
    return settings.replicas_to_ack(), settings.replicas_ack_timeout_ms


async def eval_acked(redis: Any, settings: RuntimeSettings, script: str, keys: Sequence[str], args: Sequence[Any],
                     ) -> Any:
    """EVAL one script and WAIT for the replicas on the same connection."""
    replicas, timeout_ms = replication_rule(settings)
    if replicas <= 0:
        return await redis.eval(script, len(keys), *keys, *args)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.eval(script, len(keys), *keys, *args)
        [result] = await execute_acked(redis, pipe, [k for k in keys if k][:1], replicas, timeout_ms)
    if isinstance(result, Exception):
        raise result
    return result

