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


# --------------------------------------------------------------------------- issue 11


def test_catalog_readings_lists_the_register_with_counts_per_kommun():
    r = runner.invoke(app, ["catalog", "readings", "--json", "--catalog", str(ROOT / "catalog")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data["counts"]) == {"jamtland-lansverksamheter", "mellerud", "ostersund", "sala"}
    first = data["readings"][0]
    assert {"id", "kommun", "source", "reading", "alternative", "status"} <= set(first)
    assert first["source"]["quote"]
    only = runner.invoke(app, ["catalog", "readings", "--kommun", "sala", "--open", "--json",
                               "--catalog", str(ROOT / "catalog")])
    rows = json.loads(only.output)["readings"]
    assert rows and all(x["kommun"] == "sala" and x["status"] == "awaiting_board" for x in rows)
    table = runner.invoke(app, ["catalog", "readings", "--kommun", "mellerud", "--catalog", str(ROOT / "catalog")])
    assert table.exit_code == 0 and "väntar på nämnden, 0 bekräftade" in table.output


def test_catalog_list_json_carries_the_questions():
    r = runner.invoke(app, ["catalog", "list", "--kommun", "ostersund", "--json", "--catalog", str(ROOT / "catalog")])
    rows = {x["insats"]: x for x in json.loads(r.output)}
    keys = [q["key"] for q in rows["utflyttningsstod"]["questions"]]
    assert keys[:1] == ["stated_age"] and "other_facts.hyreskontrakt_i_kommunen" in keys
    q = rows["akutboendet"]["questions"][0]
    assert set(q["question"]) == {"sv", "en", "sv-lattlast"} and q["serves"] and q["confirm_by"]


def _copy_catalog(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "catalog").glob("*.yaml"):
        shutil.copy(f, folder / f.name)
    return folder


def _change(folder: Path) -> None:
    import yaml

    path = folder / "mellerud.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    version = next(i for i in data["insatser"] if i["id"] == "foraldraskap-i-sverige")["versions"][0]
    version["documentation"]["level"] = "individual"  # 14:5 → 14:3
    del version["documentation"]["board_decision"]
    version["anonymous_allowed"] = False
    data["readings"][0]["insatser"].remove("foraldraskap-i-sverige")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    sala = folder / "sala.yaml"
    sala.write_text(sala.read_text(encoding="utf-8").replace("under_15: all_guardians", "under_15: one_guardian", 1),
                    encoding="utf-8")


def test_catalog_diff_of_two_folders_lists_documentation_and_consent_changes_per_kommun(tmp_path):
    old, new = _copy_catalog(tmp_path / "old"), _copy_catalog(tmp_path / "new")
    _change(new)
    r = runner.invoke(app, ["catalog", "diff", str(old), str(new), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data) == {"mellerud", "sala"}
    assert any(c["what"] == "documentation" and "14 kap 5 §" in c["detail"] for c in data["mellerud"])
    assert any(c["what"] == "consent" for c in data["sala"])
    same = runner.invoke(app, ["catalog", "diff", str(old), str(old)])
    assert "Inga ändringar" in same.output


def test_catalog_diff_between_git_revisions(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "pyproject.toml").write_text("")
    folder = _copy_catalog(tmp_path / "catalog")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.se", "commit", "-qm", "one")
    path = folder / "ostersund.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("            min_years: 21\n", "            min_years: 23\n", 1)
    path.write_text(text, encoding="utf-8")
    git("-c", "user.name=t", "-c", "user.email=t@example.se", "commit", "-qam", "two")
    r = runner.invoke(app, ["catalog", "diff", "--from", "HEAD~1", "--to", "HEAD", "--json", "--catalog", str(folder)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert list(data) == ["ostersund"]
    [change] = data["ostersund"]
    assert (change["insats"], change["what"], change["how"], change["id"]) == ("utflyttningsstod", "villkor",
                                                                              "changed", "alder")
    table = runner.invoke(app, ["catalog", "diff", "--from", "HEAD~1", "--catalog", str(folder)])
    assert table.exit_code == 0 and "utflyttningsstod" in table.output


def test_eligibility_check_akutboendet_with_unknown_folkbokforing_is_eligible_until_the_next_weekday(tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"stated_age": 40}))
    r = runner.invoke(app, ["eligibility", "check", "--kommun", "ostersund", "--insats", "akutboendet",
                            "--facts", str(facts), "--at", "2025-09-05", "--catalog", str(ROOT / "catalog")])
    d = json.loads(r.output)
    assert (d["outcome"], d["valid_until"]) == ("eligible", "2025-09-08")
    assert "folkbokförd" in " ".join(v["explanation"] for v in d["villkor"])
