"""The audit service's periodic work: signed checkpoint export and the information-coverage figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import Gauge

from iub_audit.checkpoints import export_loop
from iub_audit.domain.coverage import CoverageRow, coverage
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore
from iub_contracts.calendar import request_day
from iub_contracts.streams import COVERAGE_SUMMARY_KEY

log = structlog.get_logger("iub.audit")

COVERAGE = Gauge("iub_information_coverage", "11 kap 6 § information over the coverage window, from the audit store",
                 ["kommun", "channel", "state"])  # state: received, informed, failed, pending
UNINFORMED = Gauge("iub_information_uninformed", "Received but not informed (failed + pending) in the window",
                   ["kommun"])

STATES = ("received", "informed", "failed", "pending")


def coverage_rows(store: AuditStore, today: dt.date, window_days: int) -> list[CoverageRow]:
    """Coverage per kommun and channel over the last ``window_days`` days (today included)."""
    return coverage(store.coverage_entries(None, today - dt.timedelta(days=window_days - 1), today))


def publish_gauges(rows: list[CoverageRow]) -> None:
    """Set the gauges (kommun and channel labels only: no personal data)."""
    COVERAGE.clear()
    UNINFORMED.clear()
    per_kommun: dict[str, int] = {}
    for r in rows:
        for state in STATES:
            COVERAGE.labels(kommun=r.kommun, channel=r.channel, state=state).set(getattr(r, state))
        per_kommun[r.kommun] = per_kommun.get(r.kommun, 0) + r.failed + r.pending
    for kommun, n in per_kommun.items():
        UNINFORMED.labels(kommun=kommun).set(n)


async def coverage_loop(store: AuditStore, redis_getter: Callable[[], Any], window_days: int,
                        interval_s: float, clock: Callable[[], dt.datetime]) -> None:
    """Recompute the coverage figures every interval: gauges on /metrics and the dashboard's summary key."""
    while True:
        try:
            now = clock()
            rows = await asyncio.to_thread(coverage_rows, store, request_day(now), window_days)
            publish_gauges(rows)
            redis = redis_getter()
            if redis is not None:
                summary = {"updated_at": now.isoformat(timespec="seconds"), "window_days": window_days,
                           "rows": [r.as_dict() for r in rows]}
                await redis.set(COVERAGE_SUMMARY_KEY, json.dumps(summary), ex=int(max(interval_s * 5, 60)))
        except Exception as exc:  # noqa: BLE001 - an outage must not end the loop
            log.warning("audit_coverage_refresh_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval_s)


async def flush_loop(store: AuditStore, interval_s: float, clock: Callable[[], dt.datetime]) -> None:
    """Chain the staged 14 kap 4–5 § records of every hour that is over, in random order."""
    while True:
        try:
            n = await asyncio.to_thread(store.flush_staged, clock())
            if n:
                log.info("audit_staged_chained", records=n)
        except Exception as exc:  # noqa: BLE001 - an outage must not end the loop
            log.warning("audit_stage_flush_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval_s)


def background_tasks(store: AuditStore, s: AuditSettings, redis_getter: Callable[[], Any],
                     clock: Callable[[], dt.datetime]) -> list[Coroutine]:
    """The coroutines the service runs beside its consumers."""
    tasks: list[Coroutine] = [coverage_loop(store, redis_getter, s.coverage_window_days, s.coverage_refresh_s,
                                            clock), flush_loop(store, s.stage_flush_interval_s, clock)]
    if s.checkpoint_path:
        tasks.append(export_loop(store, Path(s.checkpoint_path), s.checkpoint_interval_s))
    return tasks
