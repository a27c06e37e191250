"""Reliable consumption on Redis 7.0 with FastStream 0.7.

Every stream a service reads gets, in one consumer group:

- the main reader (FastStream, ``XREADGROUP >``, the default last_id — any other id busy-loops
  after a restart) with the contract as its typed body, which is what AsyncAPI documents. Acks
  are manual: each entry is acked when *it* is done, so one entry that must wait never holds
  the others;
- a claimer (our own task: ``XPENDING`` + ``XCLAIM`` in batches) that retries what is pending —
  entries left by a crash or a Redis blip, and entries that failed — by time, with exponential
  back-off and jitter (``iub_runtime.retry``). It always tries an entry before it gives up on it:
  only entries that can never succeed (undecodable, ``Poison``) are dead-lettered at once;
  database and connection errors are retried until ``retry_max_age_hours``; other errors after
  ``max_deliveries`` attempts.

Entries being handled are kept fresh (``XCLAIM … JUSTID`` every ``claim_idle_ms / 3``), so a
long handler is never taken over by another process, and ``claim_idle_ms`` can be short: a
crashed or cut-off process's entries are retried within seconds.
"""

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from faststream import AckPolicy, Context
from faststream._internal.middlewares import BaseMiddleware
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.message import RedisStreamMessage
from pydantic import BaseModel
from redis.asyncio import Redis

from iub_contracts import streams as names
from iub_contracts.streams import ALL_STREAMS, CONSUMERS, RETIRED_STREAMS, dead_letter_stream
from iub_runtime import metrics
from iub_runtime.retry import (
    ERROR,
    LATER,
    TRANSIENT,
    Backoff,
    Later,
    Poison,
    RetryState,
    is_transient,
    next_state,
    retry_key,
)
from iub_runtime.settings import RuntimeSettings
from iub_runtime.streams import (
    StreamWriter,
    consumer_name,
    dead_letter,
    ensure_groups,
    forget_idle_consumers,
    minid_for,
)
from iub_runtime.topology import connect_redis

__all__ = ["Later", "Poison", "Runtime", "note", "register_consumer", "make_canonical_log_middleware"]

M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger("iub.consumer")


def utcnow() -> dt.datetime:
    """The services' clock (domain code gets time as a parameter)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """Adapters a service's handlers use, filled in when the app starts (never at import)."""

    settings: RuntimeSettings
    service: str
    redis: Redis | None = None
    writer: StreamWriter | None = None
    clock: Callable[[], dt.datetime] = utcnow
    extras: dict[str, Any] = field(default_factory=dict)
    consumed: list[tuple[str, str]] = field(default_factory=list)
    subscriptions: list["Subscription"] = field(default_factory=list)
    recovered_ms: int = 0
    _claimers: list[asyncio.Task] = field(default_factory=list)
    _housekeeper: asyncio.Task | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _shards: list[str | None] | None = None

    @property
    def shards(self) -> list[str | None]:
        """The shards this process serves: [None] for shared streams, else its kommuner (default: the catalogue's)."""
        if self._shards is None:
            self._shards = served_shards(self.settings)
        return self._shards

    def shard(self, kommun: str) -> str | None:
        """The shard a kommun's messages and keys belong to (None with shared streams)."""
        return kommun if self.settings.sharded() else None

    def stream(self, base: str, kommun: str) -> str:
        """The stream ``base`` a message of this kommun goes to (``iub.{kommun}.…`` when sharded)."""
        return names.named(base, self.shard(kommun))

    def key(self, key: str, kommun: str) -> str:
        """A key beside the kommun's streams (same cluster slot)."""
        return names.keyed(key, self.shard(kommun))

    def all_streams(self, bases: tuple[str, ...] = ALL_STREAMS) -> list[str]:
        """Every stream of these bases over the shards served."""
        return names.all_named(bases, self.shards)

    async def connect(self) -> None:
        """Open the Redis client (single, Sentinel or Cluster: IUB_REDIS_MODE) and the stream writer."""
        self.redis = connect_redis(self.settings)
        self.writer = StreamWriter(
            self.redis,
            retention_s=self.settings.stream_retention_hours * 3600,
            dedupe_ttl_s=self.settings.dedupe_ttl_hours * 3600,
            replicas=self.settings.replicas_to_ack(),
            ack_timeout_ms=self.settings.replicas_ack_timeout_ms,
        )

    def group_pairs(self) -> list[tuple[str, str]]:
        """(stream, group) of every contract consumer group over the shards served."""
        return [(names.named(s, shard), g) for shard in self.shards for s, gs in CONSUMERS.items() for g in gs]

    async def prepare_streams(self) -> None:
        """Create every consumer group (from id 0), forget dead consumers, start housekeeping."""
        await ensure_groups(self.redis, self.group_pairs())
        for stream, group in self.consumed:
            # consumer names are per pid: those of dead processes with nothing pending go away
            await forget_idle_consumers(self.redis, stream, group, idle_ms=3_600_000)
        self._housekeeper = asyncio.create_task(self._housekeeping())
        for sub in self.subscriptions:
            self._claimers.append(asyncio.create_task(sub.run_claimer(self._stopping)))
            self._claimers.append(asyncio.create_task(sub.run_heartbeat(self._stopping)))

    def note_recovered(self) -> None:
        """An entry that had failed on a database or connection error went through: the fault is over.

        Every entry of this process that failed before now is due at once (not after its back-off),
        and the claimers look now rather than at their next poll, so a backlog left by an outage
        is handled within seconds of the outage's end.
        """
        self.recovered_ms = int(time.time() * 1000)
        for sub in self.subscriptions:
            sub.wake.set()

    async def trim_streams(self) -> None:
        """Trim every stream and dead-letter stream to the retention (personal data must not linger)."""
        minid = minid_for(self.settings.stream_retention_hours * 3600)
        bases = (*ALL_STREAMS, *RETIRED_STREAMS)
        for stream in (*self.all_streams(bases), *map(dead_letter_stream, self.all_streams(bases))):
            await self.redis.xtrim(stream, minid=minid, approximate=True)

    async def _housekeeping(self, every_s: float = 60.0) -> None:
        while not self._stopping.is_set():
            try:
                await self.trim_streams()
                refresh = getattr(metrics, "refresh_stream_gauges", None)
                if refresh is not None:
                    await refresh(self.redis, self.all_streams())
            except Exception as exc:  # housekeeping must never take the service down
                log.warning("housekeeping_failed", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every_s)

    async def close(self) -> None:
        """Stop housekeeping and close the Redis client."""
        self._stopping.set()
        tasks = {t for t in [self._housekeeper, *self._claimers] if t is not None}
        for sub in self.subscriptions:
            tasks |= sub.tasks
        if tasks:
            # a library may swallow a cancellation; the stop event and the timeout end it anyway
            _, late = await asyncio.wait(tasks, timeout=5)
            for t in late:
                t.cancel()
        if self.redis is not None:
            await self.redis.aclose()


def served_shards(settings: RuntimeSettings) -> list[str | None]:
    """[None] for shared streams; else IUB_KOMMUNER, or every kommun in the catalogue (a new one needs no code)."""
    if not settings.sharded():
        return [None]
    if settings.kommuner:
        return list(settings.kommuner)
    from pathlib import Path

    from iub_contracts.catalog_loader import default_catalog_dir, load_catalog

    folder = getattr(settings, "catalog_dir", None)
    return sorted(load_catalog(Path(folder) if folder else default_catalog_dir()).kommuner)


def note(**fields: Any) -> None:
    """Add fields to the canonical log line of the message being handled."""
    structlog.contextvars.bind_contextvars(**fields)


def make_canonical_log_middleware(rt: Runtime) -> type[BaseMiddleware]:
    """One log line per handled message: stream, correlation id, outcome, duration; metrics too.

    For a batch the batch handler writes the per-message lines (duration amortised over the
    batch); this middleware only writes the failure lines, one per entry of a failed batch.
    """

    class CanonicalLog(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            raw = msg.raw_message
            stream = raw.get("channel", "?")
            ids = [i.decode() if isinstance(i, bytes) else str(i) for i in (raw.get("message_ids") or [])]
            is_batch = raw.get("type") == "bstream"
            group = getattr(msg, "group", None) or "?"
            structlog.contextvars.bind_contextvars(
                stream=stream, group=group, entry_id=ids[0] if ids else "?", outcome="ok"
            )
            start = time.perf_counter()
            try:
                return await call_next(msg)
            except Exception as exc:
                error_type = type(exc).__name__
                structlog.contextvars.bind_contextvars(outcome="error", error_type=error_type)
                raise
            finally:
                duration = time.perf_counter() - start
                outcome = structlog.contextvars.get_contextvars().get("outcome", "ok")
                if not is_batch or outcome == "error":
                    for entry_id in ids or ["?"]:
                        metrics.observe_message(rt.service, stream, outcome, duration / max(1, len(ids)))
                        log.info("message_handled", entry_id=entry_id, duration_ms=round(duration * 1000, 3))
                structlog.contextvars.unbind_contextvars(
                    "stream", "group", "entry_id", "outcome", "error_type", "correlation_id",
                    "request_id", "deliveries",
                )

    return CanonicalLog


Outcome = dict[str, Any] | Later | None


@dataclass(frozen=True)
class Entry:
    """A stream entry being handled: its id, the decoded message and (when read raw) its bytes."""

    id: str
    msg: Any
    raw: bytes | None = None

    def payload(self) -> bytes | str:
        """What a dead letter keeps: the original bytes, else the message re-encoded."""
        return self.raw if self.raw is not None else self.msg.model_dump_json()


@dataclass
class Subscription:
    """One stream read by one group: main reader, claimer and heartbeat of one process."""

    rt: Runtime
    stream: str
    group: str
    model: type[BaseModel]
    handle: Callable[[Any], Awaitable[Outcome]] | None = None
    handle_batch: Callable[[list[Any]], Awaitable[list[Outcome] | None]] | None = None
    concurrency: int = 1
    consumer: str = field(default_factory=consumer_name)
    claimer: str = field(default_factory=lambda: consumer_name("claimer"))
    inflight: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task] = field(default_factory=set)
    failed_before: set[str] = field(default_factory=set)  # claimed entries that had failed transiently
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        s = self.rt.settings
        self.backoff = Backoff(s.retry_initial_delay_s, s.retry_max_delay_s)
        self.key = retry_key(self.stream, self.group)
        self._sem = asyncio.Semaphore(max(1, self.concurrency)) if self.handle is not None else None

    @property
    def redis(self) -> Redis:
        return self.rt.redis

    # ------------------------------------------------------------------ handling

    async def direct(self, msgs: list[Any]) -> None:
        """Handler tests (TestRedisBroker gives no entry ids): call the handler, let errors raise."""
        if self.handle_batch is not None:
            results = await self.handle_batch(msgs) or [None] * len(msgs)
        else:
            results = [await self.handle(m) for m in msgs]
        for msg, r in zip(msgs, results, strict=False):
            note_fields = r if isinstance(r, dict) else {}
            log.info("message_handled", correlation_id=str(msg.correlation_id), **note_fields)

    async def process(self, entries: list[Entry]) -> None:
        """Handle entries: as one batch, or each on its own task (bounded) when the handler is per entry."""
        if not entries:
            return
        if self.handle_batch is not None:
            await self._run_batch(entries)
            return
        for e in entries:
            await self._sem.acquire()  # back-pressure: never more than `concurrency` at once
            self.inflight.add(e.id)
            task = asyncio.create_task(self._run_one(e))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run_batch(self, entries: list[Entry]) -> None:
        ids = [e.id for e in entries]
        self.inflight.update(ids)
        start = time.perf_counter()
        try:
            try:
                results = await self.handle_batch([e.msg for e in entries])
            except Exception as exc:
                if len(entries) > 1 and not is_transient(exc):
                    for e in entries:  # isolate the entry that fails: one by one
                        await self._run_batch([e])
                    return
                await self._failed(entries, exc)
                return
            results = list(results) if results else [None] * len(entries)
            await self._settle(entries, results, time.perf_counter() - start)
        except Exception as exc:  # Redis gone while settling: the entries stay pending, the claimer retries
            log.warning("settle_failed", stream=self.stream, group=self.group, error_type=type(exc).__name__)
        finally:
            self.inflight.difference_update(ids)

    async def _run_one(self, e: Entry) -> None:
        start = time.perf_counter()
        try:
            try:
                result = await self.handle(e.msg)
            except Exception as exc:
                await self._failed([e], exc)
                return
            await self._settle([e], [result], time.perf_counter() - start)
        except Exception as exc:
            log.warning("settle_failed", stream=self.stream, group=self.group, error_type=type(exc).__name__)
        finally:
            self.inflight.discard(e.id)
            self._sem.release()

    async def _settle(self, entries: list[Entry], results: list[Outcome], duration: float) -> None:
        done = [(e, r) for e, r in zip(entries, results, strict=False) if not isinstance(r, Later)]
        later = [(e, r) for e, r in zip(entries, results, strict=False) if isinstance(r, Later)]
        if done:
            ids = [e.id for e, _ in done]
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(self.stream, self.group, *ids)
                pipe.hdel(self.key, *ids)
                await pipe.execute()
            if self.failed_before & set(ids):
                self.failed_before.difference_update(ids)
                self.rt.note_recovered()
        each = duration / max(1, len(entries))
        for e, r in done:
            metrics.observe_message(self.rt.service, self.stream, "ok", each)
            log.info("message_handled", stream=self.stream, group=self.group, entry_id=e.id,
                     correlation_id=str(e.msg.correlation_id), batch=len(entries),
                     duration_ms=round(each * 1000, 3), **(r or {}))
        if later:
            await self._retry_later([(e, r.error_type, LATER, r.delay_s) for e, r in later])

    async def _failed(self, entries: list[Entry], exc: Exception) -> None:
        error_type = type(exc).__name__
        if isinstance(exc, Poison):  # can never succeed: operators, at once
            for e in entries:
                await self._dead_letter(e, 1, error_type)
            return
        kind = TRANSIENT if is_transient(exc) else ERROR
        for _ in entries:
            metrics.observe_message(self.rt.service, self.stream, "error", 0.0)
        await self._retry_later([(e, error_type, kind, None) for e in entries])

    async def _retry_later(self, items: list[tuple[Entry, str, str, float | None]]) -> None:
        """Record one more failed attempt per entry; dead-letter those out of attempts or age."""
        s = self.rt.settings
        try:
            raws = await self.redis.hmget(self.key, [e.id for e, *_ in items])
        except Exception as exc:  # Redis is away: no state, the claimer takes them once idle
            log.warning("retry_state_unavailable", stream=self.stream, group=self.group,
                        error_type=type(exc).__name__, entries=len(items))
            return
        now_ms = int(time.time() * 1000)
        max_age_ms = int(s.retry_max_age_hours * 3_600_000)
        states: dict[str, str] = {}
        letters: list[tuple[Entry, RetryState]] = []
        for (e, error_type, kind, delay), raw in zip(items, raws, strict=True):
            prev = RetryState.loads(raw)
            attempt = (prev.attempts if prev else 0) + 1
            st = next_state(e.id, prev, error=error_type, kind=kind,
                            delay_s=self.backoff.delay(attempt) if delay is None else delay, now_ms=now_ms)
            if (kind == ERROR and st.attempts >= s.max_deliveries) or now_ms - st.since_ms > max_age_ms:
                letters.append((e, st))
            else:
                states[e.id] = st.dumps()
            log.warning("message_handled", stream=self.stream, group=self.group, entry_id=e.id,
                        correlation_id=str(getattr(e.msg, "correlation_id", "?")), outcome="retry_later",
                        error_type=error_type, retry_kind=kind, attempts=st.attempts,
                        retry_in_ms=max(0, st.due_ms - now_ms))
        if states:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self.key, mapping=states)
                pipe.expire(self.key, int(max_age_ms / 1000) + 86_400)
                await pipe.execute()
        for e, st in letters:
            await self._dead_letter(e, st.attempts, st.error)

    async def _dead_letter(self, e: Entry, deliveries: int, error_type: str) -> None:
        s = self.rt.settings
        await dead_letter(self.redis, stream=self.stream, group=self.group, entry_id=e.id, payload=e.payload(),
                          deliveries=deliveries, error_type=error_type, now=self.rt.clock(),
                          retention_s=s.stream_retention_hours * 3600)
        await self.redis.hdel(self.key, e.id)
        metrics.DEAD_LETTERS.labels(service=self.rt.service, stream=self.stream).inc()
        log.warning("message_handled", stream=self.stream, group=self.group, entry_id=e.id,
                    outcome="dead_lettered", error_type=error_type, deliveries=deliveries)

    # ------------------------------------------------------------------ claimer and heartbeat

    async def claim_round(self) -> int:
        """Claim the pending entries that are due and handle them, one batch.

        Due: an entry without retry state (left by a crash or a blip) once idle for
        ``claim_idle_ms``; an entry that failed once its back-off is over — or at once when the
        fault is over (``note_recovered``) — provided nobody has touched it since it failed (its
        idle time covers the time since its failure; heartbeats keep entries in work fresh).
        """
        s = self.rt.settings
        now_ms = int(time.time() * 1000)
        idle_due: list[str] = []  # no state: claimed with the full idle time
        retry_due: list[tuple[str, int]] = []  # failed before: (id, idle it must still have)
        cursor, scanned, page = "-", 0, 1000
        while len(idle_due) + len(retry_due) < s.batch_size and scanned < 20_000:
            rows = await self.redis.xpending_range(self.stream, self.group, min=cursor, max="+", count=page)
            if not rows:
                break
            ids = [r["message_id"].decode() if isinstance(r["message_id"], bytes) else r["message_id"]
                   for r in rows]
            raws = await self.redis.hmget(self.key, ids)
            for entry_id, raw, row in zip(ids, raws, rows, strict=True):
                if entry_id in self.inflight:
                    continue
                idle = int(row["time_since_delivered"])
                st = RetryState.loads(raw)
                if st is None:
                    if idle >= s.claim_idle_ms:
                        idle_due.append(entry_id)
                    continue
                untouched = min(s.claim_idle_ms, max(0, now_ms - st.last_ms - 250))
                if (st.due_ms <= now_ms or st.last_ms < self.rt.recovered_ms) and idle >= untouched:
                    retry_due.append((entry_id, untouched))
                    if st.kind == TRANSIENT:
                        self.failed_before.add(entry_id)
            scanned += len(rows)
            if len(rows) < page:
                break
            cursor = "(" + ids[-1]
        metrics.WAITING.labels(stream=self.stream, group=self.group).set(await self.redis.hlen(self.key))
        room = s.batch_size
        claimed = []
        if retry_due[:room]:
            chosen = retry_due[:room]
            claimed += await self.redis.xclaim(self.stream, self.group, self.claimer,
                                               min_idle_time=min(i for _, i in chosen),
                                               message_ids=[e for e, _ in chosen])
            room -= len(chosen)
        if room > 0 and idle_due:
            claimed += await self.redis.xclaim(self.stream, self.group, self.claimer,
                                               min_idle_time=s.claim_idle_ms, message_ids=idle_due[:room])
        if not claimed:
            return 0
        entries: list[Entry] = []
        for entry_id, fields in claimed:
            entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            raw = (fields or {}).get(b"__data__")
            if raw is None:  # trimmed away: nothing left to do
                await self.redis.xack(self.stream, self.group, entry_id)
                await self.redis.hdel(self.key, entry_id)
                continue
            try:
                msg = self.model.model_validate_json(raw)
            except Exception as exc:  # undecodable: it can never succeed
                await self._dead_letter(Entry(entry_id, None, raw), 1, type(exc).__name__)
                continue
            entries.append(Entry(entry_id, msg, raw))
        await self.process(entries)
        return len(claimed)

    async def run_claimer(self, stopping: asyncio.Event) -> None:
        """Claim rounds until stopped: at once again while there is more, else every ``claim_poll_ms``."""
        s = self.rt.settings
        failures = 0
        while not stopping.is_set():
            try:
                n = await self.claim_round()
                failures, delay = 0, s.claim_poll_ms / 1000
            except Exception as exc:  # Redis away: back off, never stop
                failures += 1
                n, delay = 0, self.backoff.delay(failures)
                log.warning("claimer_failed", stream=self.stream, group=self.group, error_type=type(exc).__name__)
            if n and not failures:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stopping, self.wake), delay)

    async def run_heartbeat(self, stopping: asyncio.Event) -> None:
        """Keep entries being handled fresh, so no claimer takes them while this process works on them."""
        every = max(0.05, self.rt.settings.claim_idle_ms / 4000)
        while not stopping.is_set():
            ids = list(self.inflight)
            for i in range(0, len(ids), 1000):
                with contextlib.suppress(Exception):
                    await self.redis.xclaim(self.stream, self.group, self.consumer, min_idle_time=0,
                                            message_ids=ids[i:i + 1000], justid=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)


async def _first(*events: asyncio.Event) -> None:
    """Return as soon as one of the events is set."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def register_consumer(
    broker: RedisBroker,
    rt: Runtime,
    *,
    stream: str,
    group: str,
    model: type[M],
    description: str,
    handle: Callable[[M], Awaitable[Outcome]] | None = None,
    handle_batch: Callable[[list[M]], Awaitable[list[Outcome] | None]] | None = None,
    concurrency: int = 1,
) -> Subscription:
    """Subscribe to a stream reliably: main reader (manual acks), claimer with back-off, DLQ for poison.

    ``handle_batch`` gets up to ``batch_size`` messages per XREADGROUP and returns one outcome per
    message: a dict of log fields (done), ``Later`` (leave it pending, retry after a delay) or
    None. It raises for the whole batch: a database or connection error retries the batch, any
    other error isolates the failing entry by handling the batch one by one.
    ``handle`` handles one message on its own task, at most ``concurrency`` at once, so one slow
    message never holds the others; it returns the same outcomes.
    """
    if (handle is None) == (handle_batch is None):
        raise ValueError("give exactly one of handle and handle_batch")
    # one subscription per shard served: iub.{sala}.… , iub.{mellerud}.… (or the one shared stream)
    subs = [_register_one(broker, rt, stream=names.named(stream, shard), group=group, model=model,
                          description=description + "." + names.pattern_note(stream), handle=handle,
                          handle_batch=handle_batch, concurrency=concurrency) for shard in rt.shards]
    return subs[0]


def _register_one(
    broker: RedisBroker,
    rt: Runtime,
    *,
    stream: str,
    group: str,
    model: type[M],
    description: str,
    handle: Callable[[M], Awaitable[Outcome]] | None,
    handle_batch: Callable[[list[M]], Awaitable[list[Outcome] | None]] | None,
    concurrency: int,
) -> Subscription:
    s = rt.settings
    rt.consumed.append((stream, group))
    sub = Subscription(rt=rt, stream=stream, group=group, model=model, handle=handle, handle_batch=handle_batch,
                       concurrency=concurrency)
    rt.subscriptions.append(sub)
    name = stream.replace(".", "_").replace("-", "_").replace("{", "").replace("}", "")

    async def main(body: Any, message: Any = Context("message")) -> None:
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in (message.raw_message.get("message_ids") or [])]
        if len(ids) != len(body):  # TestRedisBroker delivers without entry ids
            await sub.direct(body)
            return
        await sub.process([Entry(i, m) for i, m in zip(ids, body, strict=True)])

    # the contract is the typed body: FastStream validates it and AsyncAPI documents it
    main.__annotations__ = {"body": list[model], "message": RedisStreamMessage, "return": None}
    main.__name__ = f"on_{name}"
    main.__doc__ = description
    broker.subscriber(
        stream=StreamSub(
            stream,
            group=group,
            consumer=sub.consumer,
            polling_interval=s.polling_interval_ms,
            max_records=s.batch_size,
            batch=True,
        ),
        title=f"{stream}:{group}",
        description=description,
        ack_policy=AckPolicy.MANUAL,
    )(main)
    return sub
