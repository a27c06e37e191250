"""`iub audit` against a real store file: verify, checkpoint, export, stats, purge."""

from __future__ import annotations

import json

import pytest
from audit_support import ADVISORY, ANONYMISED, CATALOG, INDIVIDUAL, NOW, decision
from sqlalchemy import text
from typer.testing import CliRunner

from iub_audit.app import level_and_topic, prepare_record
from iub_audit.domain.records import build_decision_record
from iub_audit.store import AuditStore, make_engine, migrate
from iub_cli.main import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path) -> tuple[str, AuditStore]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    store = AuditStore(engine)
    for kommun_insats, n in ((INDIVIDUAL, 7), (ANONYMISED, 6), (ADVISORY, 2)):
        for _ in range(n):
            msg = decision(*kommun_insats)
            level, topic = level_and_topic(CATALOG, msg.kommun, msg.insats_id, NOW.date())
            body, pnr = prepare_record(build_decision_record(msg, level, topic))
            store.append(body, personnummer=pnr, now=NOW)
    return url, store


def test_verify_says_intact_and_exits_zero(db):
    url, _ = db
    r = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "ostersund: intakt" in r.output


def test_verify_names_the_broken_link_and_exits_non_zero(db):
    url, store = db
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=4"))
    r = runner.invoke(app, ["audit", "verify", "--kommun", "ostersund", "--database-url", url])
    assert r.exit_code == 1
    assert "BRUTEN vid post 4" in r.output


def test_checkpoint_prints_every_head(db):
    url, _ = db
    heads = json.loads(runner.invoke(app, ["audit", "checkpoint", "--database-url", url]).output)["heads"]
    assert {h["kommun"]: h["seq"] for h in heads} == {"ostersund": 7, "jamtland-lansverksamheter": 6, "mellerud": 2}


def test_export_accepts_any_personnummer_form_and_returns_individual_records_only(db):
    url, _ = db
    r = runner.invoke(app, ["audit", "export", "--personnummer", "811218-9876", "--database-url", url])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["count"] == 7
    assert {rec["level"] for rec in out["records"]} == {"individual"}


def test_an_invalid_personnummer_is_refused_without_echoing_it(db):
    url, _ = db
    r = runner.invoke(app, ["audit", "export", "--personnummer", "19811218-9875", "--database-url", url])
    assert r.exit_code == 2
    assert "9875" not in r.output


def test_stats_suppress_small_cells(db):
    url, _ = db
    r = runner.invoke(app, ["audit", "stats", "--kommun", "mellerud", "--from", "2025-09-01", "--to", "2025-09-30",
                            "--by", "insats", "--json", "--database-url", url])
    out = json.loads(r.output)
    assert out["cells"] == [{"insats": "radgivningssamtal", "count": "<5"}]
    assert out["total"] == "<5"
    r = runner.invoke(app, ["audit", "stats", "--kommun", "ostersund", "--from", "2025-09-01", "--to", "2025-09-30",
                            "--by", "insats,gender", "--json", "--database-url", url])
    out = json.loads(r.output)
    assert out["cells"] == [{"insats": "akutboendet", "gender": "man", "count": 7}]


def test_purge_needs_confirmation_then_keeps_the_chain_verifiable(db):
    url, _ = db
    assert runner.invoke(app, ["audit", "purge", "--before", "2025-10-01", "--database-url", url]).exit_code == 2
    r = runner.invoke(app, ["audit", "purge", "--before", "2025-10-01", "--yes", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "15 poster gallrade" in r.output
    assert runner.invoke(app, ["audit", "verify", "--database-url", url]).exit_code == 0
