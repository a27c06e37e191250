"""Reliable consumption on Redis 7.0 with FastStream 0.7.

A handler that raises leaves its entry pending (FastStream's NACK/REJECT do nothing on Redis),
so every stream a service reads gets two subscribers in the same consumer group:

- the main one (``XREADGROUP >``, the default last_id — any other id busy-loops after a restart)
  with the contract as its typed body, which is what AsyncAPI documents;
- a claimer (``XAUTOCLAIM`` with ``min_idle_time``) that takes entries left idle by a crash or
  an error, retries them, and after ``max_deliveries`` moves them to ``<stream>.dlq``.
"""

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from faststream import Context
from faststream._internal.middlewares import BaseMiddleware
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.message import RedisStreamMessage
from pydantic import BaseModel
from redis.asyncio import Redis

from iub_runtime import metrics
from iub_runtime.settings import RuntimeSettings
from iub_runtime.streams import StreamWriter, consumer_name, dead_letter, last_error, remember_error

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

    async def connect(self) -> None:
        """Open the Redis client and the stream writer."""
        self.redis = Redis.from_url(self.settings.redis_url)
        self.writer = StreamWriter(
            self.redis,
            retention_s=self.settings.stream_retention_hours * 3600,
            dedupe_ttl_s=self.settings.dedupe_ttl_hours * 3600,
        )

    async def close(self) -> None:
        """Close the Redis client."""
        if self.redis is not None:
            await self.redis.aclose()


def note(**fields: Any) -> None:
    """Add fields to the canonical log line of the message being handled."""
    structlog.contextvars.bind_contextvars(**fields)


def make_canonical_log_middleware(rt: Runtime) -> type[BaseMiddleware]:
    """One log line per handled message: stream, correlation id, outcome, duration; metrics too."""

    class CanonicalLog(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            raw = msg.raw_message
            stream = raw.get("channel", "?")
            ids = raw.get("message_ids") or [b"?"]
            entry_id = ids[0].decode() if isinstance(ids[0], bytes) else str(ids[0])
            group = getattr(msg, "group", None) or "?"
            structlog.contextvars.bind_contextvars(
                stream=stream, group=group, entry_id=entry_id, outcome="ok"
            )
            start = time.perf_counter()
            error_type = None
            try:
                return await call_next(msg)
            except Exception as exc:
                error_type = type(exc).__name__
                structlog.contextvars.bind_contextvars(outcome="error", error_type=error_type)
                if rt.redis is not None and group != "?":
                    await remember_error(rt.redis, stream, group, entry_id, error_type)
                raise
            finally:
                duration = time.perf_counter() - start
                ctx = structlog.contextvars.get_contextvars()
                outcome = ctx.get("outcome", "ok")
                metrics.observe_message(rt.service, stream, outcome, duration)
                log.info("message_handled", duration_ms=round(duration * 1000, 3))
                structlog.contextvars.unbind_contextvars(
                    "stream", "group", "entry_id", "outcome", "error_type", "correlation_id",
                    "request_id", "deliveries",
                )

    return CanonicalLog


def register_consumer(
    broker: RedisBroker,
    rt: Runtime,
    *,
    stream: str,
    group: str,
    model: type[M],
    handle: Callable[[M], Awaitable[None]],
    description: str,
) -> None:
    """Subscribe ``handle`` to a stream reliably: main reader + claimer with delivery limit + DLQ."""
    s = rt.settings

    async def main(body: Any) -> None:
        note(correlation_id=str(body.correlation_id))
        await handle(body)

    # the contract is the typed body: FastStream validates it and AsyncAPI documents it
    main.__annotations__ = {"body": model, "return": None}

    main.__name__ = f"on_{stream.replace('.', '_').replace('-', '_')}"
    main.__doc__ = description
    broker.subscriber(
        stream=StreamSub(
            stream,
            group=group,
            consumer=consumer_name(),
            polling_interval=s.polling_interval_ms,
            max_records=s.batch_size,
        ),
        title=f"{stream}:{group}",
        description=description,
    )(main)

    async def claim(message: RedisStreamMessage = Context("message")) -> None:
        ids = message.raw_message.get("message_ids") or []
        if ids:  # a claimed entry (TestRedisBroker delivers without ids: then it is a plain delivery)
            entry_id = ids[0].decode()
            deliveries = await message.get_delivery_count()
            note(deliveries=deliveries, outcome="retried")
            if deliveries > s.max_deliveries:
                error_type = await last_error(rt.redis, stream, group, entry_id) or "Unknown"
                raw = message.raw_message["data"].get(b"__data__", b"")
                await dead_letter(
                    rt.redis,
                    stream=stream,
                    group=group,
                    entry_id=entry_id,
                    payload=raw,
                    deliveries=deliveries - 1,
                    error_type=error_type,
                    now=rt.clock(),
                    retention_s=s.stream_retention_hours * 3600,
                )
                metrics.DEAD_LETTERS.labels(service=rt.service, stream=stream).inc()
                note(outcome="dead_lettered", error_type=error_type)
                return
        body = model.model_validate_json(message.body)
        note(correlation_id=str(body.correlation_id))
        await handle(body)

    claim.__name__ = f"claim_{stream.replace('.', '_').replace('-', '_')}"
    broker.subscriber(
        stream=StreamSub(
            stream,
            group=group,
            consumer=consumer_name("claimer"),
            min_idle_time=s.claim_idle_ms,
            polling_interval=max(s.polling_interval_ms, 200),
        ),
        include_in_schema=False,
    )(claim)
