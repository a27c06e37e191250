"""The committed catalogue files validate, and the validator names file, path and reason."""

from pathlib import Path

import pytest

from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import CatalogError, load_catalog, parse_catalog_text

CATALOG = Path(__file__).resolve().parents[2] / "catalog"
EXPECTED = {"jamtland-lansverksamheter": 18, "sala": 34, "mellerud": 16, "ostersund": 28}


def test_every_kommun_document_is_fully_transcribed():
    cat = load_catalog(CATALOG)
    assert {k: len(c.insatser) for k, c in cat.kommuner.items()} == EXPECTED


def test_the_catalogue_version_is_a_content_hash_that_changes_with_the_content(tmp_path):
    first = load_catalog(CATALOG).version
    for f in CATALOG.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_catalog(tmp_path).version == first
    f = tmp_path / "sala.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert load_catalog(tmp_path).version != first


def test_anonymised_insatser_carry_the_boards_decision_for_the_whole_insats():
    for k in load_catalog(CATALOG).kommuner.values():
        for i in k.insatser:
            for v in i.versions:
                if v.documentation.level is DocumentationLevel.ANONYMISED:
                    assert v.documentation.board_decision, (k.kommun, i.id)
                    assert v.anonymous_allowed


def test_a_broken_file_is_reported_with_file_path_and_reason():
    text = (CATALOG / "mellerud.yaml").read_text(encoding="utf-8").replace("level: advisory", "level: secret", 1)
    with pytest.raises(CatalogError) as exc:
        parse_catalog_text("mellerud.yaml", text)
    problem = exc.value.problems[0]
    assert problem.startswith("mellerud.yaml: insatser.0.versions.0.documentation.level:")


def test_a_villkor_written_as_malgrupp_cannot_be_evaluated_because_malgrupp_is_text_only():
    original = (CATALOG / "mellerud.yaml").read_text(encoding="utf-8")
    text = original.replace("kind: bosatt_eller_vistas", "kind: malgrupp", 1)
    with pytest.raises(CatalogError):
        parse_catalog_text("mellerud.yaml", text)
