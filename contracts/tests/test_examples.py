"""Every example message validates against its contract and survives a JSON round trip."""

import json
from pathlib import Path

import pytest

from iub_contracts import messages

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.json"))


def test_there_is_an_example_for_every_stream_message():
    names = {p.stem for p in EXAMPLES}
    assert {"RequestReceived", "DecisionMade", "InformationGiven", "DeadLetter", "ProviderFactsRecorded"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates_and_round_trips(path: Path):
    model = getattr(messages, path.stem)
    raw = json.loads(path.read_text(encoding="utf-8"))
    parsed = model.model_validate(raw)
    again = model.model_validate_json(parsed.model_dump_json())
    assert again == parsed
    assert json.loads(again.model_dump_json()) == raw


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.stem != "DeadLetter"], ids=lambda p: p.stem)
def test_example_carries_the_envelope(path: Path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert {"message_id", "correlation_id", "occurred_at", "schema_version"} <= raw.keys()
    assert raw["correlation_id"] == raw.get("request_id", raw.get("case_id"))  # provider facts: the case


def test_the_provider_facts_message_is_a_tolerant_reader():
    raw = json.loads((Path(__file__).resolve().parents[1] / "examples" / "ProviderFactsRecorded.json").read_text())
    assert messages.ProviderFactsRecorded.model_validate(raw | {"added_later": 1}).case_id is not None
