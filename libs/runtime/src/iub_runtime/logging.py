"""structlog set-up: JSON off a terminal, and a redaction processor no personnummer passes."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from iub_runtime.pii import redact_personnummer

# Fields whose value is an id: kept as is when it has the id's exact form, else scrubbed like any field.
UUID_FIELD_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ENTRY_ID_RE = re.compile(r"^\d{13,}-\d+$")  # a Redis stream id: milliseconds-sequence


def _is_id_field(key: Any, value: Any) -> bool:
    """``request_id``, ``correlation_id``, ``entry_id`` … holding exactly a UUID or a stream id."""
    if not (isinstance(key, str) and isinstance(value, str) and (key == "id" or key.endswith("_id"))):
        return False
    return bool(UUID_FIELD_RE.match(value) or ENTRY_ID_RE.match(value))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_personnummer(value)
    if isinstance(value, Mapping):
        return {k: (v if _is_id_field(k, v) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**9:
        return redact_personnummer(str(value))
    return value


def redaction_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Mask personnummer in every field of an event, including rendered exceptions.

    By field and pattern context: an ``…_id`` field holding exactly a UUID or stream id is kept,
    and inside any text UUIDs and hex ids are skipped; everything else is searched.
    """
    return {k: (v if _is_id_field(k, v) else _scrub(v)) for k, v in event.items()}


def configure_logging(service: str, *, json: bool | None = None, level: str = "INFO") -> None:
    """Configure structlog (and stdlib logging through it) for one service process."""
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # exceptions rendered as plain text without locals (no show_locals), then scrubbed
        structlog.processors.format_exc_info,
        redaction_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # stdlib loggers (uvicorn, faststream, redis) go through the same redaction
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *shared[1:],
                renderer,
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
