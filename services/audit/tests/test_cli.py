"""`iub audit` against a real store (SQLite file and PostgreSQL): verify, checkpoint, export, stats, purge."""

from __future__ import annotations

import json

import pytest
from audit_support import ADVISORY, ANONYMISED, FIGURES, INDIVIDUAL, NOW, PNR, write
from sqlalchemy import text
from typer.testing import CliRunner

from iub_cli.audit_cmd import audit_app

runner = CliRunner()


def run(*args: str, url: str):
    return runner.invoke(audit_app, [*args, "--database-url", url])


@pytest.fixture
def db(store, store_url) -> str:
    """7 individual, 6 anonymised and 2 advisory decisions documented."""
    write(store, INDIVIDUAL, 7)
    write(store, ANONYMISED, 6)
    write(store, ADVISORY, 2)
    return store_url


def test_verify_says_intact_and_exits_zero(db):
    r = run("verify", url=db)
    assert r.exit_code == 0, r.output
    assert "ostersund: intakt" in r.output and "mellerud: intakt" in r.output


def test_verify_names_the_broken_link_and_exits_non_zero(db, store):
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=4"))
    r = run("verify", "--kommun", "ostersund", url=db)
    assert r.exit_code == 1
    assert "ostersund: BRUTEN vid post 4 (post saknas)" in r.output
    FIGURES["tamper cases detected"] += 1


def test_checkpoint_prints_count_and_hash_of_every_head(db):
    out = json.loads(run("checkpoint", url=db).output)
    assert {h["kommun"]: (h["seq"], h["count"]) for h in out["heads"]} == {
        "ostersund": (7, 7), "jamtland-lansverksamheter": (6, 6), "mellerud": (2, 2)}
    assert all(len(h["hash"]) == 64 for h in out["heads"])


def test_verify_against_an_exported_checkpoint_catches_a_truncated_chain(db, store, tmp_path):
    exported = tmp_path / "checkpoint.json"
    exported.write_text(run("checkpoint", url=db).output)
    assert run("verify", "--checkpoint", str(exported), url=db).exit_code == 0
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE kommun='mellerud' AND seq=2"))
        conn.execute(text("UPDATE audit_chain_heads SET seq=1, hash=(SELECT hash FROM audit_records WHERE "
                          "kommun='mellerud' AND seq=1) WHERE kommun='mellerud'"))
    r = run("verify", "--checkpoint", str(exported), url=db)
    assert r.exit_code == 1
    # the rewritten head lacks the chain key's MAC, and the export remembers the longer chain
    assert "mellerud: BRUTEN" in r.output and "mellerud: AVVIKER från kontrollpunkten" in r.output
    FIGURES["tamper cases detected"] += 1


def test_export_accepts_any_personnummer_form_and_returns_individual_records_only(db):
    for form in ("811218-9876", "19811218-9876", PNR):
        r = run("export", "--personnummer", form, url=db)
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert out["count"] == 7 and {rec["level"] for rec in out["records"]} == {"individual"}


def test_an_invalid_personnummer_is_refused_without_echoing_it(db):
    r = run("export", "--personnummer", "19811218-9875", url=db)
    assert r.exit_code == 2
    assert "9875" not in r.output


def test_stats_as_json_suppress_small_cells(db):
    r = run("stats", "--kommun", "mellerud", "--from", "2025-09-01", "--to", "2025-09-30", "--by", "insats",
            "--json", url=db)
    out = json.loads(r.output)
    # a period with fewer than 5 in all is not broken down at all
    assert out["cells"] == [] and out["total"] == "<5"
    r = run("stats", "--kommun", "ostersund", "--from", "2025-09-01", "--to", "2025-09-30", "--by",
            "insats,gender", "--json", url=db)
    out = json.loads(r.output)
    assert out["cells"] == [{"insats": "akutboendet", "gender": "man", "count": 7}]
    assert (out["row_totals"], out["column_totals"], out["total"]) == ({"akutboendet": 7}, {"man": 7}, 7)


def test_stats_as_a_table_show_the_legend_and_totals(db):
    r = run("stats", "--kommun", "jamtland-lansverksamheter", "--from", "2025-09-01", "--to", "2025-09-30",
            "--by", "insats,age_band", url=db)
    assert r.exit_code == 0, r.output
    assert "totalt" in r.output and "<5 = 1–4" in r.output


def test_stats_refuse_a_combination_outside_the_published_set(db):
    r = run("stats", "--kommun", "ostersund", "--from", "2025-09-01", "--to", "2025-09-30", "--by",
            "age_band,gender", url=db)
    assert r.exit_code == 2 and "published per period" in r.output


def test_stats_refuse_an_unknown_dimension(db):
    r = run("stats", "--kommun", "ostersund", "--from", "2025-09-01", "--to", "2025-09-30", "--by", "namn", url=db)
    assert r.exit_code == 2


def test_purge_needs_confirmation_and_keeps_what_is_within_its_retention(db):
    assert run("purge", "--before", "2030-01-01", url=db).exit_code == 2
    r = run("purge", "--before", "2030-01-01", "--yes", url=db)
    assert r.exit_code == 0, r.output
    assert "0 poster gallrade" in r.output  # ten years' retention for individual records by default


def test_purge_removes_expired_records_and_the_chain_still_verifies(db, store, monkeypatch):
    for level in ("INDIVIDUAL", "ANONYMISED", "ADVISORY"):
        monkeypatch.setenv(f"IUB_RETENTION_DAYS_{level}", "1")
    r = run("purge", "--before", (NOW.date().replace(month=10)).isoformat(), "--yes", url=db)
    assert r.exit_code == 0, r.output
    assert "15 poster gallrade (15 borttagna" in r.output
    bases = json.loads(r.output[r.output.index("{"):])["bases"]
    assert {b["kommun"]: b["base_seq"] for b in bases} == {"ostersund": 7, "jamtland-lansverksamheter": 6,
                                                           "mellerud": 2}
    assert run("verify", url=db).exit_code == 0
    assert store.count() == 0
