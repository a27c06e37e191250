"""The eligibility handler with TestRedisBroker: parse the contract, decide, publish once."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from faststream.redis import TestRedisBroker

from iub_contracts import streams
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.decision import Outcome
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, DecisionMade, RequestReceived
from iub_eligibility.app import create_app
from iub_eligibility.settings import EligibilitySettings
from iub_runtime.testing import RecordingWriter

CATALOG = Path(__file__).resolve().parents[3] / "catalog"
NOW = dt.datetime(2025, 9, 5, 12, 0, tzinfo=dt.UTC)


def request(kommun: str, insats: str, **facts) -> RequestReceived:
    rid = uuid.uuid4()
    return RequestReceived(correlation_id=rid, occurred_at=NOW, request_id=rid, kommun=kommun, insats_id=insats,
                           channel=Channel.APP, facts=ApplicantFacts(**facts), received_at=NOW)


@pytest.fixture
def app():
    app = create_app(EligibilitySettings(catalog_dir=str(CATALOG)))
    app.iub_state["catalog"] = load_catalog(CATALOG)
    app.iub_runtime.writer = RecordingWriter()
    return app


@pytest.mark.parametrize(
    ("kommun", "insats", "facts", "outcome"),
    [
        ("ostersund", "akutboendet", {"stated_age": 40, "folkbokford_i_kommunen": False}, Outcome.ELIGIBLE),
        ("ostersund", "arbetsmarknadsinsatser", {"stated_age": 66, "folkbokford_i_kommunen": True},
         Outcome.NOT_ELIGIBLE),
        ("mellerud", "radgivningssamtal", {"stated_age": 12, "bosatt_eller_vistas_i_kommunen": True},
         Outcome.ELIGIBLE),
    ],
    ids=["akutboendet without folkbokföring is eligible until the next weekday",
         "a 66-year-old is not eligible for arbetsmarknadsinsatser without needs assessment",
         "a 12-year-old may take rådgivningssamtal in Mellerud without consent"],
)
async def test_a_request_on_the_stream_becomes_one_decision(app, kommun, insats, facts, outcome):
    msg = request(kommun, insats, **facts)
    async with TestRedisBroker(app.broker) as br:
        await br.publish(msg.model_dump(mode="json"), stream=streams.REQUESTS)
    decisions = app.iub_runtime.writer.on(streams.DECISIONS)
    assert len(decisions) == 1
    made = decisions[0]
    assert isinstance(made, DecisionMade)
    assert made.correlation_id == msg.request_id
    assert made.decision.outcome is outcome


async def test_an_unknown_insats_is_a_decision_error_not_a_crash(app):
    msg = request("sala", "finns-inte")
    async with TestRedisBroker(app.broker) as br:
        await br.publish(msg.model_dump(mode="json"), stream=streams.REQUESTS)
    [made] = app.iub_runtime.writer.on(streams.DECISIONS)
    assert made.decision is None
    assert made.error.code.value == "unknown_insats"


async def test_a_redelivered_request_is_decided_once(app):
    msg = request("mellerud", "radgivningssamtal", stated_age=30, bosatt_eller_vistas_i_kommunen=True)
    async with TestRedisBroker(app.broker) as br:
        await br.publish(msg.model_dump(mode="json"), stream=streams.REQUESTS)
        await br.publish(msg.model_dump(mode="json"), stream=streams.REQUESTS)
    assert len(app.iub_runtime.writer.on(streams.DECISIONS)) == 1


async def test_provider_facts_are_decided_again_and_the_revision_is_published_once(app):
    """A provider's facts (redelivered, and with a field a later version added) → one revision on its stream."""
    from iub_contracts.facts import Guardian
    from iub_contracts.messages import ProviderFactsRecorded
    cid = uuid.uuid4()
    at = NOW + dt.timedelta(days=1)
    guardians = [Guardian(label=f"vårdnadshavare {i}", consent=True, recorded_by="sak-anna", recorded_at=at)
                 for i in (1, 2)]
    msg = ProviderFactsRecorded(
        correlation_id=cid, occurred_at=at, event_id=uuid.uuid4(), case_id=cid, revision=1,
        previous_outcome=Outcome.NEEDS_CONSENT, kommun="sala", insats_id="medling", level="anonymised",
        channel=Channel.APP, request_day=NOW.date(),
        facts=ApplicantFacts(stated_age=0, folkbokford_i_kommunen=True, guardians=guardians,
                             other_facts={"garningspersonen_har_fyllt_12_ar": True}))
    raw = msg.model_dump(mode="json") | {"added_by_a_later_version": "ignored"}
    async with TestRedisBroker(app.broker) as br:
        await br.publish(raw, stream=streams.PROVIDER_FACTS)
        await br.publish(raw, stream=streams.PROVIDER_FACTS)
    [revised] = app.iub_runtime.writer.on(streams.REVISIONS)
    assert isinstance(revised, DecisionMade) and revised.revision == 1 and revised.case_id == cid
    assert revised.decision.outcome is Outcome.ELIGIBLE and revised.previous_outcome is Outcome.NEEDS_CONSENT
    assert app.iub_runtime.writer.on(streams.DECISIONS) == []  # a revision never poses as a first decision
