"""Real Redis Cluster (3 primaries + 3 replicas) and Sentinel (primary, replica, 3 sentinels) processes.

The runtime's one client builder works against both; a publish waits for a replica (WAIT) and
fails loudly when none can take it; operators see each shard's replicas and a warning when a
primary has fewer in sync than IUB_MIN_REPLICAS_ACK.
"""

from __future__ import annotations

import datetime as dt

import pytest

from iub_contracts import streams
from iub_contracts.messages import DeadLetter
from iub_runtime.processes import RedisClusterProcs, RedisSentinelProcs, wait_until
from iub_runtime.replication import read_topology
from iub_runtime.settings import RuntimeSettings
from iub_runtime.stream_stats import Thresholds, evaluate, read_snapshot
from iub_runtime.streams import StreamWriter, dead_letter, ensure_groups
from iub_runtime.topology import ReplicasNotAcked, connect_redis, make_broker

pytestmark = pytest.mark.timeout(180)
KOMMUNER = ["sala", "mellerud", "ostersund", "jamtland-lansverksamheter"]


def _letter() -> DeadLetter:
    return DeadLetter(stream="s", group="g", entry_id="1-0", deliveries=1, error_type="E",
                      dead_lettered_at=dt.datetime.now(dt.UTC), payload="{}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = RedisClusterProcs(tmp_path_factory.mktemp("cluster")).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory):
    s = RedisSentinelProcs(tmp_path_factory.mktemp("sentinel")).start()
    yield s
    s.stop()


def test_settings_pick_the_topology_and_the_replicas_a_write_needs():
    assert RuntimeSettings().replicas_to_ack() == 0 and not RuntimeSettings().sharded()
    assert RuntimeSettings(redis_mode="sentinel").replicas_to_ack() == 1
    c = RuntimeSettings(redis_mode="cluster", redis_cluster_nodes="127.0.0.1:1,127.0.0.1:2")
    assert c.replicas_to_ack() == 1 and c.sharded() and c.redis_cluster_nodes == ["127.0.0.1:1", "127.0.0.1:2"]
    assert RuntimeSettings(redis_mode="cluster", min_replicas_ack=0).replicas_to_ack() == 0
    assert type(make_broker(c)).__name__ == "RedisClusterBroker"
    assert type(make_broker(RuntimeSettings(redis_mode="sentinel", redis_sentinels=["127.0.0.1:1"]))).__name__ \
        == "RedisSentinelBroker"


async def test_cluster_publishes_once_per_kommun_with_a_replica_acknowledging(cluster):
    settings = RuntimeSettings(redis_mode="cluster", redis_cluster_nodes=cluster.startup_nodes.split(","))
    redis = connect_redis(settings)
    try:
        writer = StreamWriter(redis, retention_s=3600, dedupe_ttl_s=3600, replicas=1)
        items = [(streams.named(streams.DECISIONS, k), _letter(), f"t:{k}") for k in KOMMUNER]
        ids = await writer.publish_many(items)
        assert all(ids)
        assert await writer.publish_many(items) == [None] * len(KOMMUNER)  # once per key
        pairs = [(streams.named(streams.DECISIONS, k), "audit") for k in KOMMUNER]
        await ensure_groups(redis, pairs)
        # MULTI over the stream, its retry hash and its dead letters: one slot
        stream = streams.named(streams.DECISIONS, "sala")
        await dead_letter(redis, stream=stream, group="audit", entry_id=ids[0], payload=b"{}", deliveries=1,
                          error_type="E", now=dt.datetime.now(dt.UTC), retention_s=3600)
        assert await redis.xlen(streams.dead_letter_stream(stream)) == 1
        topo = await read_topology(redis, "cluster", 1, KOMMUNER)
        assert len(topo.shards) == 3 and all(s.in_sync == 1 for s in topo.shards)
        assert sorted(k for s in topo.shards for k in s.kommuner) == sorted(KOMMUNER)
        assert len({tuple(s.kommuner) for s in topo.shards if s.kommuner}) == 3  # all shards used
    finally:
        await redis.aclose()


async def test_sentinel_write_waits_for_the_replica_and_refuses_without_it(sentinel):
    settings = RuntimeSettings(redis_mode="sentinel", redis_sentinels=sentinel.sentinel_addrs.split(","),
                               redis_master_name=sentinel.master_name)
    redis = connect_redis(settings)
    stopped = None
    try:
        writer = StreamWriter(redis, retention_s=3600, dedupe_ttl_s=3600, replicas=1, ack_timeout_ms=300)
        assert await writer.publish(streams.REQUESTS, _letter(), once_key="a")
        snap = await read_snapshot(redis, [streams.REQUESTS], replication=("sentinel", 1, []))
        assert snap.topology.shards[0].in_sync == 1
        assert not [v for v in evaluate(snap, Thresholds()) if v.metric == "replicas_missing"]
        # the replica dies: no write can be acknowledged, and operators are told
        assert sentinel.current_primary_port() == sentinel.primary.port
        stopped = sentinel.replica
        stopped.kill()
        with pytest.raises(ReplicasNotAcked):
            await writer.publish(streams.REQUESTS, _letter(), once_key="b")
        snap = await read_snapshot(redis, [streams.REQUESTS], replication=("sentinel", 1, []))
        assert [str(v) for v in evaluate(snap, Thresholds()) if v.metric == "replicas_missing"] \
            == ["redis primary replicas_missing 1 > 0"]
        # back (it resyncs): writes are acknowledged again, the retry of "b" publishes it once
        stopped.start()
        wait_until(lambda: sentinel.primary.client().info("replication").get("connected_slaves") == 1, 30)
        assert await writer.publish(streams.REQUESTS, _letter(), once_key="b") is None  # it was written before
    finally:
        await redis.aclose()
