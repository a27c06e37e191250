"""Schemathesis against audit's OpenAPI with every check: no 5xx, every answer within its documented schema.

The app runs in-process with its lifespan (real Redis for the rate limiter, a SQLite store with
individual records of a known person); every call carries a key of an all-kommuner insyn client.
Half of the positive cases ask about a person with records, so the 200 answers carry records too.
The per-operation expectations (422 for a schema-valid but invalid personnummer) are in the repo's
schemathesis.toml, the same file `schemathesis run --checks all` reads.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from audit_support import FIGURES, INDIVIDUAL, PNR, write
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from iub_audit.app import create_api
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, make_engine, migrate
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key, new_key

ROOT = Path(__file__).resolve().parents[3]
MAX_EXAMPLES = int(os.environ.get("IUB_SCHEMATHESIS_EXAMPLES", "500"))
KEY = new_key()
REGISTRY = ClientRegistry([ClientConfig(id="schemathesis", name="schemathesis", key_sha256=[hash_key(KEY)],
                                        kommuner=["*"], operations=[Operation.INSYN, Operation.OPS_READ],
                                        rate_per_minute=10**9)])
FORMS = [PNR, f"{PNR[2:8]}-{PNR[8:]}", f"{PNR[:8]}-{PNR[8:]}", "19121212-1212", "121212+1212"]
FIGURES_ST: dict[str, dict] = {}


def audit_settings(redis_url: str, tmp: Path) -> AuditSettings:
    return AuditSettings(redis_url=redis_url, var_dir=str(tmp), database_url=f"sqlite:///{tmp / 'audit.sqlite3'}",
                         insyn_rate_per_minute=10**9)


@pytest.fixture
def st_app(clean_redis, tmp_path):
    settings_ = audit_settings(clean_redis, tmp_path)
    engine = make_engine(settings_.database_url)
    migrate(engine)
    write(AuditStore(engine), INDIVIDUAL, 3)
    engine.dispose()
    app = create_api(settings_, registry=REGISTRY)
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture
def st_session(st_app):
    with asgi.ASGIClient(st_app) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        yield client


config = schemathesis.Config.from_path(str(ROOT / "schemathesis.toml"))
schema = schemathesis.openapi.from_dict(
    create_api(AuditSettings(var_dir="var", docs_public=True), registry=REGISTRY).openapi(), config=config)
schema.config.update(base_url=f"http://{asgi.HOST}")


def _about_someone(case, pnr):
    if isinstance(case.body, dict) and "personnummer" in case.body:
        case.body["personnummer"] = pnr
    return case


@schema.hook
def flatmap_case(context, case):
    """Half of the positive cases ask about a person the store has records of."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return st.just(case)
    return st.one_of(st.just(case), st.builds(lambda p: _about_someone(case, p), st.sampled_from(FORMS)))


@pytest.mark.schemathesis
@pytest.mark.redis
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_audit_answers_every_generated_call_within_its_schema(case, st_app, st_session):
    label = f"audit {case.operation.method.upper()} {case.operation.path}"
    figures = FIGURES_ST.setdefault(label, {"examples": 0, "failures": 0, "statuses": Counter()})
    figures["examples"] += 1
    case.operation.app = case.operation.schema.app = st_app
    try:
        response = case.call_and_validate(session=st_session)
    except Exception:
        figures["failures"] += 1
        raise
    finally:
        FIGURES[f"schemathesis {label}"] = (f"{figures['examples']} examples, {figures['failures']} failures, "
                                            f"statuses {dict(sorted(figures['statuses'].items()))}")
    figures["statuses"][response.status_code] += 1
    assert response.status_code < 500
