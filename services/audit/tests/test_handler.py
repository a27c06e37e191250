"""The audit handlers with TestRedisBroker and a real store: once per request, refusals still hand over."""

from __future__ import annotations

import pytest
from audit_support import ANONYMISED, CATALOG, INDIVIDUAL, decision
from faststream.redis import TestRedisBroker

from iub_audit.app import create_app
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, make_engine, migrate
from iub_contracts import streams
from iub_runtime.testing import RecordingWriter


@pytest.fixture
def app(tmp_path):
    app = create_app(AuditSettings(var_dir=str(tmp_path)))
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    migrate(engine)
    app.iub_state.update(catalog=CATALOG, store=AuditStore(engine))
    app.iub_runtime.writer = RecordingWriter()
    return app


async def test_a_decision_delivered_twice_is_documented_once_and_handed_to_notify_once(app):
    msg = decision(*INDIVIDUAL)
    async with TestRedisBroker(app.broker) as br:
        await br.publish(msg.model_dump(mode="json"), stream=streams.DECISIONS)
        await br.publish(msg.model_dump(mode="json"), stream=streams.DECISIONS)
    assert app.iub_state["store"].count(request_id=str(msg.request_id)) == 1
    [recorded] = app.iub_runtime.writer.on(streams.RECORDED)
    assert recorded.documented and recorded.level.value == "individual"


async def test_the_level_comes_from_the_catalogue_not_from_the_request(app):
    msg = decision(*ANONYMISED)
    async with TestRedisBroker(app.broker) as br:
        await br.publish(msg.model_dump(mode="json"), stream=streams.DECISIONS)
    assert app.iub_state["store"].count(request_id=str(msg.request_id), level="anonymised") == 1


async def test_a_record_refused_by_the_pii_guard_is_dead_lettered_and_the_person_still_informed(app):
    msg = decision(*ANONYMISED).model_copy(update={"kommun": "anna@example.se"})
    async with TestRedisBroker(app.broker) as br:
        await br.publish(msg.model_dump(mode="json"), stream=streams.DECISIONS)
    assert app.iub_state["store"].count(request_id=str(msg.request_id)) == 0
    [letter] = app.iub_runtime.writer.on(streams.dead_letter_stream(streams.DECISIONS))
    assert "anna@example.se" not in letter.model_dump_json()
    [recorded] = app.iub_runtime.writer.on(streams.RECORDED)
    assert recorded.documented is False
    assert "anna" not in (recorded.refusal_reason or "")
