"""`iub catalog` and `iub eligibility check` run the same code as the service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from iub_cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_catalog_list_json_has_every_insats_of_a_kommun():
    r = runner.invoke(app, ["catalog", "list", "--kommun", "mellerud", "--json", "--catalog", str(ROOT / "catalog")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    rows = data if isinstance(data, list) else data.get("insatser", data)
    assert len(rows) == 16


def test_catalog_validate_passes_on_the_committed_files():
    r = runner.invoke(app, ["catalog", "validate", "--catalog", str(ROOT / "catalog")])
    assert r.exit_code == 0, r.output


def test_catalog_validate_names_file_path_and_reason(tmp_path):
    for f in (ROOT / "catalog").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    bad = tmp_path / "sala.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("level: anonymised", "level: hemlig", 1), encoding="utf-8")
    r = runner.invoke(app, ["catalog", "validate", "--catalog", str(tmp_path)])
    assert r.exit_code == 1
    assert "sala.yaml: insatser." in r.output and "documentation.level" in r.output


def test_eligibility_check_prints_the_decision_for_akutboendet_on_a_friday(tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"stated_age": 40, "folkbokford_i_kommunen": False}))
    r = runner.invoke(app, ["eligibility", "check", "--kommun", "ostersund", "--insats", "akutboendet",
                            "--facts", str(facts), "--at", "2025-09-05", "--catalog", str(ROOT / "catalog")])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["outcome"] == "eligible"
    assert d["valid_until"] == "2025-09-08"


def test_eligibility_check_of_an_unknown_insats_is_an_error_with_exit_2(tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text("{}")
    r = runner.invoke(app, ["eligibility", "check", "--kommun", "sala", "--insats", "finns-inte",
                            "--facts", str(facts), "--catalog", str(ROOT / "catalog")])
    assert r.exit_code == 2
    assert "unknown_insats" in r.output
