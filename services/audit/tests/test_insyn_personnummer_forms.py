"""Every valid personnummer form through partsinsyn (HTTP and the CLI): never a 5xx; 18xx found (issue 13, point 9)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from audit_support import CATALOG, INDIVIDUAL, decision, store_decision
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from test_api import REGISTRY, auth
from typer.testing import CliRunner

from iub_audit.app import create_api
from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_cli.main import app as cli
from iub_contracts.facts import ApplicantFacts

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "services" / "intake" / "tests"))
from pnr_forms import forms, valid_personnummer  # noqa: E402

TODAY = dt.datetime.now(dt.UTC).date()


def test_every_valid_form_gets_an_answer_and_never_a_5xx(store, tmp_path):
    svc = build_service(AuditSettings(var_dir=str(tmp_path)))
    svc.state.update(catalog=CATALOG, store=store)
    client = TestClient(create_api(AuditSettings(var_dir=str(tmp_path)), registry=REGISTRY, service=svc))

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(valid_personnummer(TODAY))
    def lookup(case):
        r = client.post("/v1/insyn", json={"personnummer": case[1]}, headers=auth("all-hl"))
        assert r.status_code == 200, (case[0], r.status_code, r.text)

    lookup()


def test_a_person_born_in_1897_finds_their_records_by_every_form(store, tmp_path):
    born = dt.date(1897, 6, 1) if TODAY.year - 1897 <= 129 else dt.date(1897, 12, 31)
    written = forms(born, 123, False, TODAY)
    store_decision(store, decision(*INDIVIDUAL, facts=ApplicantFacts(personnummer=written[0])))
    svc = build_service(AuditSettings(var_dir=str(tmp_path)))
    svc.state.update(catalog=CATALOG, store=store)
    client = TestClient(create_api(AuditSettings(var_dir=str(tmp_path)), registry=REGISTRY, service=svc))
    url = store.engine.url.render_as_string(hide_password=False)
    for form in written:
        assert client.post("/v1/insyn", json={"personnummer": form}, headers=auth("all-hl")).json()["count"] == 1
        out = CliRunner().invoke(cli, ["audit", "export", "--personnummer", form, "--database-url", url])
        assert out.exit_code == 0 and '"count": 1' in out.output, out.output
