"""`iub notify coverage` and the coverage gauges: counted from the audit store, not the trimmed streams."""

from __future__ import annotations

import datetime as dt
import json

from audit_support import ADVISORY, ANONYMISED, CATALOG, INDIVIDUAL, KEYS, NOW, decision, information
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from iub_audit.background import coverage_rows, publish_gauges
from iub_audit.domain.documenting import document_decision, document_information
from iub_cli.main import app
from iub_contracts.messages import Channel, InformationStatus

runner = CliRunner()
DAY = NOW.date().isoformat()


def _document(store, kommun_insats, status: InformationStatus | None, channel=Channel.APP, days_later: int = 0):
    msg = decision(*kommun_insats, channel=channel)
    store.append_many([document_decision(CATALOG, msg, KEYS).record.item], now=NOW)
    if status is not None:
        info = information(msg, at=NOW + dt.timedelta(days=days_later, seconds=5)).model_copy(
            update={"status": status})
        decided = store.decisions_for([str(msg.request_id)], KEYS)
        store.append_many([document_information(CATALOG, info, decided.get(str(msg.request_id)), KEYS).item],
                          now=NOW)
    return msg


def _cov(url, *args):
    return runner.invoke(app, ["notify", "coverage", *args, "--database-url", url])


def test_coverage_counts_received_informed_failed_and_pending_per_channel_and_check_fails(store, store_url):
    k = ANONYMISED[0]
    _document(store, ANONYMISED, InformationStatus.DELIVERED)
    _document(store, ANONYMISED, InformationStatus.DELIVERED, days_later=1)  # informed after midnight
    _document(store, ANONYMISED, InformationStatus.FAILED, channel=Channel.TELEPHONY)
    _document(store, ANONYMISED, None)  # pending
    _document(store, INDIVIDUAL, InformationStatus.DELIVERED)  # another kommun
    r = _cov(store_url, "--kommun", k, "--from", DAY, "--to", DAY, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    rows = {row["channel"]: row for row in data["rows"]}
    assert (rows["app"]["received"], rows["app"]["informed"], rows["app"]["failed"], rows["app"]["pending"]) == (
        3, 2, 0, 1)
    assert (rows["telephony"]["received"], rows["telephony"]["failed"]) == (1, 1)
    assert data["total"]["received"] == 4 and data["total"]["complete"] is False
    assert _cov(store_url, "--kommun", k, "--from", DAY, "--to", DAY, "--check").exit_code == 1
    assert _cov(store_url, "--kommun", INDIVIDUAL[0], "--from", DAY, "--to", DAY, "--check").exit_code == 0
    text = _cov(store_url, "--kommun", k, "--from", DAY, "--to", DAY).output
    assert "Mottagna" in text and "telephony" in text


def test_a_pending_request_informed_later_makes_check_pass(store, store_url):
    msg = _document(store, ADVISORY, None)
    assert _cov(store_url, "--kommun", ADVISORY[0], "--from", DAY, "--to", DAY, "--check").exit_code == 1
    info = information(msg, at=NOW + dt.timedelta(hours=30))
    decided = store.decisions_for([str(msg.request_id)], KEYS)
    store.append_many([document_information(CATALOG, info, decided[str(msg.request_id)], KEYS).item], now=NOW)
    assert _cov(store_url, "--kommun", ADVISORY[0], "--from", DAY, "--to", DAY, "--check").exit_code == 0


def test_coverage_refuses_a_malformed_date(store_url):
    r = _cov(store_url, "--from", "1 september")
    assert r.exit_code == 2 and "Ogiltigt datum" in r.output


def test_the_same_figures_are_on_metrics(store):
    _document(store, ANONYMISED, InformationStatus.DELIVERED)
    _document(store, ANONYMISED, InformationStatus.FAILED)
    publish_gauges(coverage_rows(store, NOW.date(), 31))
    k = ANONYMISED[0]

    def gauge(state):
        return REGISTRY.get_sample_value("iub_information_coverage", {"kommun": k, "channel": "app", "state": state})

    assert (gauge("received"), gauge("informed"), gauge("failed"), gauge("pending")) == (2, 1, 1, 0)
    assert REGISTRY.get_sample_value("iub_information_uninformed", {"kommun": k}) == 1


async def test_the_dashboard_summary_is_published_to_redis_with_counts_only(store, clean_redis):
    import asyncio

    from redis.asyncio import Redis

    from iub_audit.background import coverage_loop
    from iub_contracts.streams import COVERAGE_SUMMARY_KEY

    msg = _document(store, ANONYMISED, InformationStatus.FAILED)
    redis = Redis.from_url(clean_redis)
    task = asyncio.create_task(coverage_loop(store, lambda: redis, 31, 0.05, lambda: NOW))
    try:
        for _ in range(200):
            if await redis.exists(COVERAGE_SUMMARY_KEY):
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    raw = (await redis.get(COVERAGE_SUMMARY_KEY)).decode()
    [row] = json.loads(raw)["rows"]
    assert (row["kommun"], row["received"], row["failed"], row["complete"]) == (ANONYMISED[0], 1, 1, False)
    assert str(msg.request_id) not in raw
    await redis.aclose()
