"""Schemathesis against the OpenAPI: at least 500 examples per operation, 0 server errors, 0 schema breaks.

The app runs in-process with a real Redis and the test clients; every call carries a valid API
key (a client of every kommun) and a valid Standard Webhooks signature over the exact body sent,
so generated telephony events reach the real handling instead of stopping at 401.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from intake_support import CATALOG_DIR, SCHEMATHESIS, SECRETS, luhn_pnr, make_settings, registry
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.python import asgi

from iub_contracts.catalog_loader import load_catalog
from iub_intake.app import create_api
from iub_intake.settings import IntakeSettings
from iub_runtime import webhooks
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key, new_key

MAX_EXAMPLES = int(os.environ.get("IUB_SCHEMATHESIS_EXAMPLES", "500"))
# Every check runs, positive_data_acceptance included: the repo's schemathesis.toml (also read by
# `schemathesis run --checks all`) lets a schema-valid body get 422/404, since a JSON schema cannot
# say "a valid personnummer (Luhn)", "an insats of this kommun's catalogue" or "telephony needs call_ref".
CONFIG = schemathesis.Config.from_path(str(Path(__file__).resolve().parents[3] / "schemathesis.toml"))
ST_KEY = new_key()


class SigningClient(asgi.ASGIClient):
    """The ASGI test client, signing each request like the telephony platform would.

    ``sign`` is switched off for cases whose headers are negated (generated to be invalid): those
    go out as generated and test the refusals; every other case gets a fresh webhook-id, the
    current time and a valid signature over the exact body sent.
    """

    sign = True

    def send(self, request, **kwargs):  # type: ignore[override]
        if not self.sign:
            return super().send(request, **kwargs)
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
        request.headers["webhook-id"] = msg_id
        request.headers["webhook-timestamp"] = str(ts)
        request.headers["webhook-signature"] = webhooks.sign(SECRETS["phone-sala"], msg_id, ts, body)
        return super().send(request, **kwargs)


def headers_negated(case) -> bool:
    """Whether this case's headers were generated to break the schema."""
    info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return info is not None and info.mode is GenerationMode.NEGATIVE


SEEDS = [{"kommun": "sala", "insats_id": "budgetradgivning", "facts": {"stated_age": 30}},
         {"kommun": "ostersund", "insats_id": "biffsamtal", "facts": {"personnummer": "19121212-1212"}},
         {"kommun": "mellerud", "insats_id": "radgivningssamtal", "language": "en", "facts": {"stated_age": 12}}]


def seed_request(client, body: dict) -> str:
    """Create one request before the run; its id."""
    resp = client.post("/v1/requests", json=body)
    assert resp.status_code == 202, resp.text
    return resp.json()["request_id"]


@pytest.fixture
def st_app(clean_redis):
    """The in-process app; a client with every operation on every kommun is added to the test clients."""
    everything = ClientConfig(id="schemathesis", name="schemathesis", key_sha256=[hash_key(ST_KEY)],
                              kommuner=["*"], rate_per_minute=10**9,
                              operations=[o for o in Operation if not o.value.startswith("provider:")],
                              webhook_secret=SECRETS["phone-sala"])
    app = create_api(make_settings(clean_redis), ClientRegistry([*registry().clients, everything]))
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture
def st_session(st_app):
    """A signing session authenticated as the all-kommuner client."""
    with SigningClient(st_app) as client:
        client.headers["Authorization"] = f"Bearer {ST_KEY}"
        CREATED[:] = [seed_request(client, body) for body in SEEDS]
        yield client
        CREATED.clear()


# the app's own OpenAPI document (read without starting it; the calls go to a started app)
schema = schemathesis.openapi.from_dict(create_api(IntakeSettings(auth_disabled=True)).openapi(), config=CONFIG)
schema.config.update(base_url=f"http://{asgi.HOST}")

# Random strings almost never name a kommun, an insats or a valid personnummer, so half of the
# positive cases get real ones: the generated facts then go through admission, minimisation,
# the eligibility engine and onto the stream, where the interesting failures would be.
PAIRS = [(k.kommun, i.id) for k in load_catalog(CATALOG_DIR).kommuner.values() for i in k.insatser]
PNRS = ["19121212-1212", "121212+1212", luhn_pnr("20150314", "238"), luhn_pnr("20090630", "442"),
        luhn_pnr("19701063", "239"), luhn_pnr("19850101", "120", sep="")]


CREATED: list[str] = []  # request ids created before the run, so GET /v1/requests/{id} also finds some


def _realistic(case, pair, pnr, rid):
    kommun, insats = pair
    if "kommun" in (case.path_parameters or {}):
        case.path_parameters["kommun"] = kommun
    if "request_id" in (case.path_parameters or {}) and rid is not None:
        case.path_parameters["request_id"] = rid
    body = case.body if isinstance(case.body, dict) else None
    target = body.get("form") if body is not None and isinstance(body.get("form"), dict) else body
    if target is not None and "kommun" in target:
        target["kommun"], target["insats_id"] = kommun, insats
        if pnr is not None and isinstance(target.get("facts"), dict):
            target["facts"]["personnummer"] = pnr
    return case


@schema.hook
def flatmap_case(context, case):
    """Half of the positive cases aimed at real kommuner, insatser and valid personnummer."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return st.just(case)
    return st.one_of(st.just(case), st.builds(lambda p, n, i: _realistic(case, p, n, i), st.sampled_from(PAIRS),
                                               st.sampled_from([None, *PNRS]), st.sampled_from([None, *CREATED])))


@pytest.mark.schemathesis
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_the_api_answers_every_generated_call_within_its_schema(case, st_app, st_session):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    figures = SCHEMATHESIS.setdefault(label, {"examples": 0, "failures": 0, "server_errors": 0,
                                              "statuses": Counter()})
    figures["examples"] += 1
    # so probes without credentials (ignored_auth) are sent in-process too
    case.operation.app = case.operation.schema.app = st_app
    st_session.sign = not headers_negated(case)
    try:
        response = case.call_and_validate(session=st_session)
    except Exception:
        figures["failures"] += 1
        raise
    figures["statuses"][response.status_code] += 1
    if response.status_code >= 500:
        figures["server_errors"] += 1
