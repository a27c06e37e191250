"""Prometheus metrics shared by the services. Labels never hold personal data."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram
from redis.asyncio import Redis

from iub_contracts.streams import ALL_STREAMS, CONSUMERS, base_of
from iub_runtime.settings import RuntimeSettings
from iub_runtime.stream_stats import StreamsSnapshot, read_snapshot
from iub_runtime.streams import forget_dead_consumers, mark_alive, rewrite_aof_if_due
from iub_runtime.topology import is_cluster

MESSAGES = Counter(
    "iub_messages_total", "Messages handled", ["service", "stream", "outcome"]
)
PROCESSING = Histogram(
    "iub_message_processing_seconds",
    "Time to handle one message",
    ["service", "stream"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEAD_LETTERS = Counter("iub_dead_letters_total", "Entries moved to a dead-letter stream", ["service", "stream"])
DECISIONS = Counter("iub_decisions_total", "Eligibility decisions by outcome", ["kommun", "outcome"])
INFORMATION = Counter("iub_information_total", "11 kap 6 § information deliveries", ["via", "status"])
PNR_DROPPED = Counter(
    "iub_intake_personnummer_dropped_total",
    "Personnummer dropped at intake because the insats is anonymised or advisory",
    ["kommun"],
)
PENDING = Gauge("iub_stream_pending", "Entries pending in a consumer group", ["stream", "group"])
LAG = Gauge("iub_stream_lag", "Entries not yet delivered to a consumer group", ["stream", "group"])
OLDEST_PENDING = Gauge(
    "iub_stream_oldest_pending_seconds", "Age of the oldest entry pending in a consumer group", ["stream", "group"]
)
STREAM_LENGTH = Gauge("iub_stream_length", "Entries in a stream (XLEN)", ["stream"])
WAITING = Gauge(
    "iub_stream_waiting", "Entries of a consumer group waiting for a retry (iub:retry:<stream>:<group>)",
    ["stream", "group"])
DEAD_LETTER_BACKLOG = Gauge("iub_stream_dead_letters", "Entries waiting in a stream's dead-letter stream", ["stream"])
INFORMATION_RECENT = Gauge(
    "iub_information_recent", "11 kap 6 § information on the information stream in the last hour", ["status"]
)
AOF_REWRITES = Counter("iub_aof_rewrites_total", "AOF rewrites started by the housekeeping (trimmed data off disk)")

# The only label values the stream gauges take: names from the contracts, never read from data.
KNOWN_PAIRS = frozenset((s, g) for s, gs in CONSUMERS.items() for g in gs)


def observe_message(service: str, stream: str, outcome: str, seconds: float) -> None:
    """Count one handled message and its duration."""
    MESSAGES.labels(service=service, stream=stream, outcome=outcome).inc()
    PROCESSING.labels(service=service, stream=stream).observe(seconds)


def apply_stream_snapshot(snapshot: StreamsSnapshot) -> None:
    """Set the stream gauges from a snapshot; only contract streams and groups become labels."""
    seen = set()
    for s in snapshot.streams:
        if base_of(s.name) not in ALL_STREAMS:
            continue
        STREAM_LENGTH.labels(stream=s.name).set(s.length)
        DEAD_LETTER_BACKLOG.labels(stream=s.name).set(s.dead_letters)
        for g in s.groups:
            if (base_of(s.name), g.name) not in KNOWN_PAIRS:
                continue
            seen.add((s.name, g.name))
            PENDING.labels(stream=s.name, group=g.name).set(g.pending)
            LAG.labels(stream=s.name, group=g.name).set(float("nan") if g.lag is None else g.lag)
            OLDEST_PENDING.labels(stream=s.name, group=g.name).set(g.oldest_pending_age_s or 0)
            WAITING.labels(stream=s.name, group=g.name).set(g.waiting)
    if snapshot.information is not None:
        INFORMATION_RECENT.labels(status="delivered").set(snapshot.information.delivered)
        INFORMATION_RECENT.labels(status="failed").set(snapshot.information.failed)
    for stream, group in KNOWN_PAIRS - seen:  # a group that went away must not keep its last value
        for gauge in (PENDING, LAG, OLDEST_PENDING, WAITING):
            with contextlib.suppress(KeyError):
                gauge.remove(stream, group)


_settings: RuntimeSettings | None = None


async def housekeep(redis: Redis, settings: RuntimeSettings | None = None,
                    streams: Sequence[str] | None = None) -> None:
    """After the minute's trim: renew this process' heartbeat, forget the consumers of dead processes,
    rewrite the AOF when due (trimmed data off disk)."""
    global _settings
    s = settings or _settings or RuntimeSettings()
    _settings = s
    await mark_alive(redis, ttl_s=int(s.alive_ttl_s))
    await forget_dead_consumers(redis, streams)
    # a cluster's nodes are run by their operator (managed Redis): the rewrite is theirs to schedule
    if s.aof_rewrite_hours > 0 and not is_cluster(redis) \
            and await rewrite_aof_if_due(redis, s.aof_rewrite_hours * 3600):
        AOF_REWRITES.inc()


async def refresh_stream_gauges(redis: Redis, streams: Sequence[str] | None = None) -> StreamsSnapshot:
    """Read the streams and refresh the gauges; then the stream housekeeping of ``housekeep``.

    Runtime's housekeeping calls this every minute right after trimming the streams, which is
    when the AOF rewrite must follow; so the rewrite and the dead-consumer sweep ride on it.
    """
    await housekeep(redis, streams=streams)  # first: the heartbeat must not wait on a slow or failing snapshot
    snapshot = await read_snapshot(redis, list(streams or ALL_STREAMS), lag_count_cap=1_000)  # cheap
    apply_stream_snapshot(snapshot)
    return snapshot
