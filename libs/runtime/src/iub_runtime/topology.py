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


Command = tuple[Any, ...]


async def execute_acked(redis: Any, commands: Sequence[Command], routing_keys: Sequence[str], replicas: int,
                        timeout_ms: int) -> list[Any]:
    """Run commands, then WAIT on the very connection(s) they ran on; ReplicasNotAcked when too few replicas have them.

    ``commands`` are raw command tuples (``("EVAL", script, 2, k1, k2, …)``); ``routing_keys`` one
    key per command, naming its cluster slot. WAIT counts only the writes of its own connection,
    so the commands and their WAIT go down one connection per node: a redis-py pipeline without
    a cluster; in a cluster one connection taken from each node's pool, because the cluster
    pipeline may resend a command alone (MOVED, a lost connection) and the WAIT would then vouch
    for nothing. A MOVED or a lost node refreshes the slot map and raises: the caller retries
    (intake answers 503), and its dedupe or idempotency key makes the retry safe.
    Returns the results of ``commands`` in order (errors raised).
    """
    if not is_cluster(redis):
        async with redis.pipeline(transaction=False) as pipe:
            for cmd in commands:
                pipe.execute_command(*cmd)
            if replicas > 0:
                pipe.execute_command("WAIT", replicas, timeout_ms)
            results = await pipe.execute()
        if replicas > 0:
            acked = int(results.pop())
            if acked < replicas:
                raise ReplicasNotAcked(f"{acked} of {replicas} replicas acknowledged in {timeout_ms} ms")
        return results
    await redis.initialize()  # the slot map (once; a no-op afterwards)
    groups: dict[str, tuple[Any, list[int]]] = {}
    for i, key in enumerate(routing_keys):
        node = redis.get_node_from_key(key)
        groups.setdefault(node.name, (node, []))[1].append(i)
    results: list[Any] = [None] * len(commands)
    for node, idx in groups.values():
        batch = [commands[i] for i in idx] + ([("WAIT", replicas, timeout_ms)] if replicas > 0 else [])
        conn = node.acquire_connection()
        try:
            await conn.send_packed_command(conn.pack_commands(batch))
            answers = []
            for _ in batch:
                try:
                    answers.append(await conn.read_response())
                except redis_exc.ResponseError as exc:  # e.g. MOVED after a failover: keep reading the rest
                    answers.append(exc)
        except (redis_exc.ConnectionError, redis_exc.TimeoutError, OSError):
            await conn.disconnect()
            await redis.nodes_manager.initialize()  # the node is gone: learn the new primaries
            raise
        finally:
            node.release(conn)
        if replicas > 0:
            acked = answers.pop()
            if isinstance(acked, Exception) or int(acked) < replicas:
                raise ReplicasNotAcked(f"{acked} of {replicas} replicas acknowledged in {timeout_ms} ms")
        for i, answer in zip(idx, answers, strict=True):
            if isinstance(answer, redis_exc.AskError | redis_exc.TryAgainError | redis_exc.ClusterDownError):
                await redis.nodes_manager.initialize()
            results[i] = answer
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results
