"""What operators see of the streams: lengths, groups, pending, lag, waiting, consumers, dead
letters and failed information.

Read with redis.asyncio (any client, bytes or str responses); shared by ``iub ops``, the
operator dashboard and the Prometheus gauges. ``evaluate`` (thresholds) is a pure function.

Lag is computed from ids, never taken from ``XINFO GROUPS``: after an AOF reload Redis 7.0
reports ``entries-read``/``lag`` that no longer match the stream (23–337 on a drained system).
A group's lag is the entries after its last-delivered id (0 when that id is the stream's last)
plus its pending entries: everything the group has not finished.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from iub_contracts.messages import DeadLetter
from iub_contracts.streams import ALL_STREAMS, CONSUMERS, INFORMATION, base_of, dead_letter_stream
from iub_runtime.replication import TopologyInfo, read_topology
from iub_runtime.retry import retry_key

DATA_FIELD = "__data__"
LAG_COUNT_CAP = 10_000  # entries counted with XRANGE after a group's last-delivered id
INFORMATION_WINDOW_S = 3600.0  # failed information counts against the status for this long
_PAGE = 1_000


class ConsumerStats(BaseModel):
    """One consumer of a group (names are host-pid[-role], never personal data)."""

    name: str
    pending: int
    idle_s: float


class GroupStats(BaseModel):
    """One consumer group of a stream."""

    name: str
    expected: bool = Field(description="Named in iub_contracts.streams.CONSUMERS")
    pending: int
    lag: int | None = Field(description="Entries the group has not finished: undelivered (from ids) plus pending")
    lag_exact: bool
    undelivered: int | None = Field(default=None, description="Entries after the group's last-delivered id")
    waiting: int = Field(default=0, description="Entries that failed on a transient error and wait for a retry by "
                         "time (not dead letters)")
    waiting_exact: bool = True
    last_delivered_id: str
    entries_read: int | None = None
    oldest_pending_id: str | None = None
    oldest_pending_age_s: float | None = Field(default=None, description="Now minus the oldest pending id's time")
    oldest_pending_idle_s: float | None = Field(default=None, description="Since its last delivery")
    oldest_pending_deliveries: int | None = None
    consumers: list[ConsumerStats] = Field(default_factory=list)


class StreamStats(BaseModel):
    """One stream with its groups and its dead-letter stream."""

    name: str
    exists: bool
    length: int
    last_generated_id: str | None = None
    entries_added: int | None = None
    groups: list[GroupStats] = Field(default_factory=list)
    missing_groups: list[str] = Field(default_factory=list, description="Expected groups that do not exist")
    dead_letter_stream: str
    dead_letters: int


class InformationStats(BaseModel):
    """11 kap 6 § information outcomes on the information stream in the last window."""

    window_s: float
    delivered: int = 0
    failed: int = 0
    exact: bool = True


class StreamsSnapshot(BaseModel):
    """Every stream at one moment (Redis server time)."""

    taken_at: dt.datetime
    redis_version: str | None = None
    streams: list[StreamStats]
    information: InformationStats | None = None
    topology: TopologyInfo | None = None


class DeadLetterEntry(BaseModel):
    """An entry of a ``<stream>.dlq``: the dead letter, or the raw text when it does not parse."""

    dlq_stream: str
    dlq_id: str
    letter: DeadLetter | None = None
    raw: str | None = None


def _s(value: Any) -> Any:
    """Bytes to str (responses may be either)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _get(d: dict, key: str, default: Any = None) -> Any:
    """A field of a parsed XINFO reply, whatever the key type."""
    if key in d:
        return d[key]
    return d.get(key.encode(), default)


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream id as (milliseconds, sequence)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def id_age_s(entry_id: str, now_ms: int) -> float:
    """Seconds from an entry id's timestamp to now (never negative)."""
    return max(0.0, (now_ms - parse_id(entry_id)[0]) / 1000)


async def server_now_ms(redis: Redis) -> int:
    """Redis server time in milliseconds (ids are stamped with it, not with our clock)."""
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def count_after(redis: Redis, stream: str, after_id: str, cap: int = LAG_COUNT_CAP) -> tuple[int, bool]:
    """Entries with an id above ``after_id`` (paged XRANGE); (count, exact) — inexact at the cap."""
    count, start = 0, f"({after_id}"
    while count < cap:
        page = await redis.xrange(stream, min=start, max="+", count=min(_PAGE, cap - count))
        if not page:
            return count, True
        count += len(page)
        start = f"({_s(page[-1][0])}"
    return count, False


async def _group_lag(redis: Redis, stream: str, info: StreamStats, last: str, cap: int) -> tuple[int, bool]:
    """Entries after the group's last-delivered id, from ids (XINFO's lag is wrong after AOF reloads)."""
    if info.last_generated_id is None or parse_id(last) >= parse_id(info.last_generated_id):
        return 0, True
    return await count_after(redis, stream, last, cap)


async def count_waiting(redis: Redis, stream: str, group: str) -> tuple[int, bool]:
    """Entries that failed and wait for a retry by time (the group's retry hash, see ``retry``); exact."""
    return int(await redis.hlen(retry_key(stream, group))), True


async def _group_stats(
    redis: Redis, stream: str, info: StreamStats, g: dict, now_ms: int, cap: int
) -> GroupStats:
    """Pending, lag, oldest pending entry and consumers of one group."""
    name = _s(_get(g, "name"))
    last = _s(_get(g, "last-delivered-id", "0-0"))
    undelivered, exact = await _group_lag(redis, stream, info, last, cap)
    pending = int(_get(g, "pending", 0))
    read = _get(g, "entries-read")
    stats = GroupStats(
        name=name,
        expected=name in CONSUMERS.get(base_of(stream), ()),
        pending=pending,
        lag=undelivered + pending,
        lag_exact=exact,
        undelivered=undelivered,
        last_delivered_id=last,
        entries_read=None if read is None else int(read),
    )
    if stats.pending:
        stats.waiting, stats.waiting_exact = await count_waiting(redis, stream, name)
        oldest = await redis.xpending_range(stream, name, min="-", max="+", count=1)
        if oldest:
            first = oldest[0]
            stats.oldest_pending_id = _s(first["message_id"])
            stats.oldest_pending_age_s = id_age_s(stats.oldest_pending_id, now_ms)
            stats.oldest_pending_idle_s = int(first["time_since_delivered"]) / 1000
            stats.oldest_pending_deliveries = int(first["times_delivered"])
    for c in await redis.xinfo_consumers(stream, name):
        stats.consumers.append(
            ConsumerStats(name=_s(_get(c, "name")), pending=int(_get(c, "pending", 0)),
                          idle_s=int(_get(c, "idle", 0)) / 1000)
        )
    return stats


async def read_stream(redis: Redis, stream: str, now_ms: int, lag_count_cap: int = LAG_COUNT_CAP) -> StreamStats:
    """Length, groups and dead letters of one stream (a missing stream has length 0, no groups)."""
    dlq = dead_letter_stream(stream)
    expected = list(CONSUMERS.get(base_of(stream), ()))
    info = StreamStats(name=stream, exists=False, length=0, dead_letter_stream=dlq,
                       dead_letters=int(await redis.xlen(dlq)), missing_groups=expected)
    try:
        raw = await redis.xinfo_stream(stream)
    except ResponseError:  # no such key
        return info
    added = _get(raw, "entries-added")
    info.exists = True
    info.length = int(_get(raw, "length", 0))
    info.last_generated_id = _s(_get(raw, "last-generated-id"))
    info.entries_added = None if added is None else int(added)
    for g in await redis.xinfo_groups(stream):
        info.groups.append(await _group_stats(redis, stream, info, g, now_ms, lag_count_cap))
    present = {g.name for g in info.groups}
    info.missing_groups = [g for g in expected if g not in present]
    return info


def _information_status(raw: Any) -> str | None:
    """The ``status`` of an InformationGiven entry (a substring test first: pydantic's JSON is compact)."""
    data = raw if isinstance(raw, bytes) else str(raw).encode()
    for status in ("failed", "delivered"):
        if f'"status":"{status}"'.encode() in data:
            return status
    try:
        return json.loads(data).get("status")
    except (ValueError, AttributeError):
        return None


async def read_information(redis: Redis, now_ms: int, window_s: float = INFORMATION_WINDOW_S,
                           cap: int = LAG_COUNT_CAP) -> InformationStats:
    """Delivered and failed information in the last window, newest first (at most ``cap`` entries)."""
    out = InformationStats(window_s=window_s)
    start, end, seen = str(max(0, now_ms - int(window_s * 1000))), "+", 0
    while seen < cap:
        page = await redis.xrevrange(INFORMATION, max=end, min=start, count=min(_PAGE, cap - seen))
        if not page:
            return out
        for _id, fields in page:
            status = _information_status(_get(fields, DATA_FIELD, b"{}"))
            if status == "failed":
                out.failed += 1
            elif status == "delivered":
                out.delivered += 1
        seen += len(page)
        end = f"({_s(page[-1][0])}"
    out.exact = not await redis.xrevrange(INFORMATION, max=end, min=start, count=1)
    return out


async def read_snapshot(
    redis: Redis, streams: Sequence[str] = ALL_STREAMS, lag_count_cap: int = LAG_COUNT_CAP,
    information_window_s: float | None = INFORMATION_WINDOW_S,
    replication: tuple[str, int, Sequence[str]] | None = None,
) -> StreamsSnapshot:
    """Stats of every stream (default: all the contract streams) at Redis server time.

    ``lag_count_cap`` bounds the XRANGE counting of a group's undelivered entries;
    ``information_window_s`` (None: not read) how far back failed information is counted;
    ``replication`` (mode, IUB_MIN_REPLICAS_ACK, kommuner; None: not read) adds the primaries and replicas.
    """
    now_ms = await server_now_ms(redis)
    try:
        version = _s((await redis.info("server")).get("redis_version"))
    except ResponseError:
        version = None
    version = None if version is None else str(version)
    return StreamsSnapshot(
        taken_at=dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC),
        redis_version=version,
        streams=[await read_stream(redis, s, now_ms, lag_count_cap) for s in streams],
        information=None if information_window_s is None else await read_information(
            redis, now_ms, information_window_s, lag_count_cap),
        topology=None if replication is None else await read_topology(redis, *replication),
    )


def parse_dead_letter(dlq_stream: str, dlq_id: str, fields: dict) -> DeadLetterEntry:
    """One dlq entry: its DeadLetter, or the raw text when it is not one."""
    raw = _s(_get(fields, DATA_FIELD, ""))
    try:
        return DeadLetterEntry(dlq_stream=dlq_stream, dlq_id=dlq_id, letter=DeadLetter.model_validate_json(raw))
    except ValidationError:
        return DeadLetterEntry(dlq_stream=dlq_stream, dlq_id=dlq_id, raw=raw)


def dlq_name(stream: str) -> str:
    """The dead-letter stream of a stream; a ``.dlq`` name is returned as is."""
    return stream if stream.endswith(".dlq") else dead_letter_stream(stream)


async def read_dead_letters(
    redis: Redis, streams: Iterable[str] = ALL_STREAMS, count: int = 20
) -> list[DeadLetterEntry]:
    """The newest dead letters of the streams, newest first (at most ``count``)."""
    found: list[DeadLetterEntry] = []
    for stream in streams:
        dlq = dlq_name(stream)
        for entry_id, fields in await redis.xrevrange(dlq, max="+", min="-", count=count):
            found.append(parse_dead_letter(dlq, _s(entry_id), fields))
    found.sort(key=lambda e: parse_id(e.dlq_id), reverse=True)
    return found[:count]


async def find_dead_letter(redis: Redis, dlq_id: str, streams: Iterable[str] = ALL_STREAMS) -> list[DeadLetterEntry]:
    """The dlq entries with this id in the dead-letter streams of the streams (0, 1, rarely more)."""
    found = []
    for stream in streams:
        dlq = dlq_name(stream)
        for entry_id, fields in await redis.xrange(dlq, min=dlq_id, max=dlq_id, count=1):
            found.append(parse_dead_letter(dlq, _s(entry_id), fields))
    return found


class Thresholds(BaseModel):
    """Limits an operator sets; None means not checked. A value above its limit is a violation.

    Dead letters and failed information are checked by default (limit 0): a system with either
    is not OK, whatever else holds.
    """

    max_pending: int | None = None
    max_lag: int | None = None
    max_oldest_pending_s: float | None = None
    max_dead_letters: int | None = 0
    max_information_failed: int | None = 0

    @classmethod
    def unchecked(cls) -> Thresholds:
        """No limit at all (a view that only shows numbers)."""
        return cls(max_dead_letters=None, max_information_failed=None)


class Violation(BaseModel):
    """One limit crossed."""

    stream: str
    group: str | None = None
    metric: str
    value: float
    limit: float

    def __str__(self) -> str:
        where = f"{self.stream}:{self.group}" if self.group else self.stream
        return f"{where} {self.metric} {self.value:g} > {self.limit:g}"


def evaluate(snapshot: StreamsSnapshot, thresholds: Thresholds) -> list[Violation]:
    """Every limit the snapshot crosses (pure: same input, same answer)."""
    out: list[Violation] = []

    def check(stream: str, group: str | None, metric: str, value: float | None, limit: float | None) -> None:
        if limit is not None and value is not None and value > limit:
            out.append(Violation(stream=stream, group=group, metric=metric, value=value, limit=limit))

    if snapshot.information is not None:
        check(INFORMATION, None, "information_failed", snapshot.information.failed,
              thresholds.max_information_failed)
    for s in snapshot.streams:
        check(s.name, None, "dead_letters", s.dead_letters, thresholds.max_dead_letters)
        for g in s.groups:
            check(s.name, g.name, "pending", g.pending, thresholds.max_pending)
            check(s.name, g.name, "lag", g.lag, thresholds.max_lag)
            check(s.name, g.name, "oldest_pending_s", g.oldest_pending_age_s, thresholds.max_oldest_pending_s)
    if snapshot.topology is not None:  # a primary that cannot get a write acknowledged: 503 for its kommuner
        for shard in snapshot.topology.short_of_replicas():
            out.append(Violation(stream=f"redis {shard.primary}", metric="replicas_missing",
                                 value=snapshot.topology.min_replicas_ack - shard.in_sync, limit=0))
    return out
