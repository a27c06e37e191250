"""The audit handlers with TestRedisBroker and a real store: once per request, decision before information."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_support import ADVISORY, ANONYMISED, CATALOG, FIGURES, INDIVIDUAL, KEYS, PNR, decision, information
from faststream.redis import TestRedisBroker

from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_contracts import streams
from iub_contracts.messages import DeadLetter
from iub_runtime.consumer import Later
from iub_runtime.testing import RecordingWriter


@pytest.fixture
def svc(store, tmp_path):
    """The audit consumers over the parametrised store (SQLite and PostgreSQL), publishing into memory."""
    service = build_service(AuditSettings(var_dir=str(tmp_path)))
    service.state.update(catalog=CATALOG, store=store, link_keys=KEYS)
    service.rt.writer = RecordingWriter()
    return service


async def publish(svc, *pairs) -> None:
    async with TestRedisBroker(svc.broker) as br:
        for stream, msg in pairs:
            await br.publish(msg.model_dump(mode="json"), stream=stream)


async def test_a_decision_delivered_twice_is_documented_once_and_nothing_is_handed_on(svc):
    msg = decision(*INDIVIDUAL)
    await publish(svc, (streams.DECISIONS, msg), (streams.DECISIONS, msg))
    assert svc.store.count(request_id=str(msg.request_id)) == 1
    assert svc.rt.writer.on(streams.RECORDED) == []  # notify informs from the decision itself
    FIGURES["redeliveries stored once"] += 1


async def test_information_delivered_twice_is_documented_once_at_the_decisions_level(svc):
    msg = decision(*INDIVIDUAL)
    info = information(msg)
    await publish(svc, (streams.DECISIONS, msg), (streams.INFORMATION, info), (streams.INFORMATION, info))
    assert svc.store.count(request_id=str(msg.request_id), step="information", level="individual") == 1
    assert [r["step"] for r in svc.store.export_person(PNR)] == ["decision", "information"]
    FIGURES["redeliveries stored once"] += 1


@pytest.mark.parametrize(
    ("kommun_insats", "level"),
    [(INDIVIDUAL, "individual"), (ANONYMISED, "anonymised"), (ADVISORY, "advisory")],
    ids=["an individual insats (14 kap 3 §)", "an anonymised insats (14 kap 5 §)", "an advisory insats (14 kap 4 §)"],
)
async def test_the_level_comes_from_the_catalogue_not_from_the_request(svc, kommun_insats, level):
    msg = decision(*kommun_insats)
    info = information(msg, level=None)  # whatever notify says about the level is not used
    await publish(svc, (streams.DECISIONS, msg), (streams.INFORMATION, info))
    assert svc.store.count(level=level) == 2
    assert svc.store.count(personnummer=PNR) == (2 if level == "individual" else 0)
    # 14 kap 4–5 §: stored under keyed ids, never the request id
    assert svc.store.count(request_id=str(msg.request_id)) == (2 if level == "individual" else 0)


@pytest.mark.parametrize("kommun_insats", [ANONYMISED, ADVISORY], ids=["anonymised", "advisory"])
async def test_unlinkable_records_are_still_stored_exactly_once_per_step(svc, kommun_insats):
    msg = decision(*kommun_insats)
    # the information comes the next day: its record still takes the decision's day (coverage per day)
    info = information(msg, at=msg.received_at + dt.timedelta(days=1))
    await publish(svc, (streams.DECISIONS, msg), (streams.DECISIONS, msg), (streams.INFORMATION, info),
                  (streams.INFORMATION, info))
    assert svc.store.count(step="decision") == 1 and svc.store.count(step="information") == 1
    assert svc.store.count(request_id=str(msg.request_id)) == 0
    entries = svc.store.coverage_entries(None, msg.received_at.date(), msg.received_at.date())
    assert sorted(e[2] for e in entries) == ["decision", "information"]
    assert svc.rt.writer.on(streams.RECORDED) == []  # nothing published that could join a stream to the record


async def test_a_record_refused_by_its_model_is_dead_lettered(svc):
    msg = decision(*ANONYMISED).model_copy(update={"insats_id": "anna@example.se"})
    await publish(svc, (streams.DECISIONS, msg))
    assert svc.store.count(request_id=str(msg.request_id)) == 0
    [letter] = svc.rt.writer.on(streams.dead_letter_stream(streams.DECISIONS))
    assert isinstance(letter, DeadLetter) and letter.error_type == "ValidationError"
    assert "anna@example.se" not in letter.model_dump_json()


async def test_an_information_record_refused_by_the_pii_guard_is_dead_lettered(svc):
    msg = decision(*ADVISORY)
    await publish(svc, (streams.DECISIONS, msg))
    info = information(msg).model_copy(update={"template": "information/0701234567"})
    await publish(svc, (streams.INFORMATION, info))
    assert svc.store.count(request_id=str(msg.request_id), step="information") == 0
    [letter] = svc.rt.writer.on(streams.dead_letter_stream(streams.INFORMATION))
    assert letter.error_type == "PiiRefused" and "0701234567" not in letter.model_dump_json()


@pytest.mark.parametrize("kommun_insats", [INDIVIDUAL, ANONYMISED, ADVISORY], ids=["14:3", "14:5", "14:4"])
async def test_information_before_its_decision_waits_so_the_chain_keeps_decision_then_information(svc, kommun_insats):
    msg = decision(*kommun_insats)
    info = information(msg)
    [first] = await svc.handlers["information"]([info])
    assert isinstance(first, Later) and first.error_type == "DecisionNotDocumentedYet"
    assert svc.store.count(request_id=str(msg.request_id)) == 0
    await svc.handlers["decisions"]([msg])
    [second] = await svc.handlers["information"]([info])
    assert not isinstance(second, Later)
    assert svc.store.count(step="decision") == 1 and svc.store.count(step="information") == 1
    if kommun_insats is not INDIVIDUAL:
        return  # 14 kap 4–5 §: keyed ids, joined to the chain in random order within their hour (unlinkable)
    with svc.store.engine.connect() as conn:
        from sqlalchemy import text

        steps = [r[0] for r in conn.execute(text("select step from audit_records where request_id = :r order by seq"),
                                            {"r": str(msg.request_id)})]
    assert steps == ["decision", "information"]
