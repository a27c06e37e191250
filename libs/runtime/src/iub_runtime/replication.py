"""What operators see of the Redis topology: each primary (per cluster shard) with its replicas and offsets.

Read from ``INFO replication`` of every primary (in a cluster: each shard's primary, and which
kommuner's hash tags it serves). A primary with fewer replicas in sync than
``IUB_MIN_REPLICAS_ACK`` cannot acknowledge a write: intake answers 503 for its kommuner until a
replica is back, and ``iub ops status`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from iub_runtime.topology import is_cluster


class ReplicaInfo(BaseModel):
    """One replica as its primary sees it."""

    address: str
    state: str = Field(description="online when in sync")
    offset: int = Field(description="Replication offset the replica acknowledged")
    behind: int = Field(description="Bytes of the replication stream it has not acknowledged yet")
    lag_s: int | None = None


class ShardInfo(BaseModel):
    """A primary (a cluster shard, or the one primary) and its replicas."""

    primary: str
    offset: int = Field(description="The primary's replication offset (master_repl_offset)")
    replicas: list[ReplicaInfo] = Field(default_factory=list)
    kommuner: list[str] = Field(default_factory=list, description="Kommuner whose streams live here (cluster)")

    @property
    def in_sync(self) -> int:
        return sum(1 for r in self.replicas if r.state == "online")


class TopologyInfo(BaseModel):
    """Every shard, and the replicas a write must reach (IUB_MIN_REPLICAS_ACK)."""

    mode: str
    min_replicas_ack: int
    shards: list[ShardInfo] = Field(default_factory=list)

    def short_of_replicas(self) -> list[ShardInfo]:
        """Shards with fewer replicas in sync than a write needs."""
        return [s for s in self.shards if s.in_sync < self.min_replicas_ack]


def _shard(address: str, info: dict[str, Any]) -> ShardInfo:
    offset = int(info.get("master_repl_offset", 0))
    replicas = []
    for key, value in info.items():
        if key.startswith("slave") and isinstance(value, dict):
            r_offset = int(value.get("offset", 0))
            replicas.append(ReplicaInfo(address=f"{value.get('ip')}:{value.get('port')}",
                                        state=str(value.get("state")), offset=r_offset,
                                        behind=max(0, offset - r_offset),
                                        lag_s=int(value["lag"]) if "lag" in value else None))
    return ShardInfo(primary=address, offset=offset, replicas=replicas)


async def read_topology(redis: Any, mode: str, min_replicas_ack: int,
                        kommuner: Sequence[str] = ()) -> TopologyInfo:
    """The primaries and their replicas, now."""
    out = TopologyInfo(mode=mode, min_replicas_ack=min_replicas_ack)
    if is_cluster(redis):
        await redis.initialize()
        for node in redis.get_primaries():
            info = await redis.info("replication", target_nodes=node)
            if isinstance(info, dict) and node.name in info and isinstance(info[node.name], dict):
                info = info[node.name]
            shard = _shard(node.name, info)
            shard.kommuner = [k for k in kommuner if redis.get_node_from_key(f"{{{k}}}").name == node.name]
            out.shards.append(shard)
        return out
    info = await redis.info("replication")
    pool = getattr(redis, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {}) if pool is not None else {}
    address = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}" if "host" in kwargs else "primary"
    out.shards.append(_shard(address, info))
    return out
