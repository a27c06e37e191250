"""Intake's stream consumers with FastStream's TestRedisBroker: decisions and information fill the status view."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from faststream.redis import TestRedisBroker
from intake_support import make_settings, registry

from iub_contracts import streams
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, InformationGiven, InformationStatus, RequestReceived
from iub_eligibility.domain.request import evaluate_request
from iub_intake.app import create_api
from iub_intake.status import accept_request, read_status

NOW = dt.datetime(2025, 9, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def app(clean_redis):
    """The intake app with its Redis connected but no broker connection (TestRedisBroker)."""
    api = create_api(make_settings(clean_redis), registry())
    rt = api.state.runtime
    await rt.connect()
    yield api
    await rt.close()


def received(kommun="sala", insats="budgetradgivning") -> RequestReceived:
    rid = uuid.uuid4()
    return RequestReceived(correlation_id=rid, occurred_at=NOW, request_id=rid, kommun=kommun, insats_id=insats,
                           channel=Channel.APP, facts=ApplicantFacts(stated_age=40, folkbokford_i_kommunen=True),
                           received_at=NOW)


def information(req: RequestReceived) -> InformationGiven:
    return InformationGiven(correlation_id=req.request_id, occurred_at=NOW, request_id=req.request_id,
                            kommun=req.kommun, insats_id=req.insats_id, channel=req.channel, level=None,
                            language="sv", language_requested="sv", language_fallback=False, template="sv@1",
                            text="Du har rätt att ansöka.", text_sha256="0" * 64, delivered_via="poll",
                            status=InformationStatus.DELIVERED, attempts=1)


async def test_a_decision_on_the_stream_makes_the_request_decided(app):
    rt = app.state.runtime
    req = received()
    await accept_request(rt.redis, req, retention_s=3600)
    made = evaluate_request(load_catalog(app.state.intake.settings.catalog_dir), req, NOW)
    async with TestRedisBroker(app.state.broker) as br:
        await br.publish(made.model_dump(mode="json"), stream=streams.DECISIONS)
    row = await read_status(rt.redis, str(req.request_id))
    assert row["status"] == "decided"
    assert row["decision"]["outcome"] == made.decision.outcome.value


async def test_information_given_makes_the_request_informed_with_the_text_as_delivered(app):
    rt = app.state.runtime
    req = received()
    await accept_request(rt.redis, req, retention_s=3600)
    async with TestRedisBroker(app.state.broker) as br:
        await br.publish(information(req).model_dump(mode="json"), stream=streams.INFORMATION)
    row = await read_status(rt.redis, str(req.request_id))
    assert (row["status"], row["information"]) == ("informed", "Du har rätt att ansöka.")


async def test_a_late_message_for_a_forgotten_request_creates_no_row(app):
    rt = app.state.runtime
    req = received()  # never accepted here (or its row expired)
    async with TestRedisBroker(app.state.broker) as br:
        await br.publish(information(req).model_dump(mode="json"), stream=streams.INFORMATION)
    assert await rt.redis.exists(f"iub:request:{req.request_id}") == 0
    assert await read_status(rt.redis, str(req.request_id)) is None


@pytest.mark.parametrize("level", ["anonymised", "advisory"])
async def test_an_unlinkable_request_keeps_no_link_back_once_informed(app, level):
    """14 kap 4–5 §: insats, time, channel and decision go; a late decision does not bring them back."""
    from iub_contracts.catalog import DocumentationLevel

    rt = app.state.runtime
    req = received()
    await accept_request(rt.redis, req, retention_s=3600)
    made = evaluate_request(load_catalog(app.state.intake.settings.catalog_dir), req, NOW)
    info = information(req).model_copy(update={"level": DocumentationLevel(level)})
    async with TestRedisBroker(app.state.broker) as br:
        await br.publish(made.model_dump(mode="json"), stream=streams.DECISIONS)
        await br.publish(info.model_dump(mode="json"), stream=streams.INFORMATION)
        await br.publish(made.model_dump(mode="json"), stream=streams.DECISIONS)  # redelivered late
    raw = {k.decode() for k in await rt.redis.hgetall(f"iub:request:{req.request_id}")}
    assert raw == {"kommun", "information", "information_status", "minimised"}
    row = await read_status(rt.redis, str(req.request_id))
    assert (row["status"], row["information"], row["insats_id"], row["received_at"]) == (
        "informed", "Du har rätt att ansöka.", None, None)


async def test_an_individual_request_keeps_its_status_row_after_information(app):
    from iub_contracts.catalog import DocumentationLevel

    rt = app.state.runtime
    req = received()
    await accept_request(rt.redis, req, retention_s=3600)
    info = information(req).model_copy(update={"level": DocumentationLevel.INDIVIDUAL})
    async with TestRedisBroker(app.state.broker) as br:
        await br.publish(info.model_dump(mode="json"), stream=streams.INFORMATION)
    row = await read_status(rt.redis, str(req.request_id))
    assert row["insats_id"] == req.insats_id and row["received_at"]
