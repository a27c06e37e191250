"""Measure one decide() call on a typical insats (kommun villkor + age + folkbokförd + consent)."""

from __future__ import annotations

import datetime as dt
import timeit

from iub_contracts.catalog import (
    AgeVillkor,
    ConsentPolicy,
    Contact,
    Documentation,
    FolkbokfordVillkor,
    Insats,
    InsatsVersion,
    KommunCatalog,
    SourceRef,
)
from iub_contracts.catalog_loader import Catalog
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_eligibility.domain import decide

SRC = SourceRef(file="bench.txt", section="1")


def main() -> None:
    """Print the mean time per decide() call for a few typical requests."""
    version = InsatsVersion(
        name="Föräldraprogram",
        unit="Öppenvården",
        description="Gruppprogram",
        malgrupp="Föräldrar",
        villkor=[
            AgeVillkor(
                id="alder",
                text="13–17 år",
                min_years=13,
                max_years=17,
                confirm_by=["ID-handling"],
                source=SRC,
            ),
        ],
        consent=ConsentPolicy(),
        documentation=Documentation(level="individual", source=SRC),
        topic="foraldraskap",
        source=SRC,
    )
    kc = KommunCatalog(
        kommun="bench",
        name="Benchs kommun",
        source_file="bench.txt",
        contact=Contact(how_to_apply="Ring"),
        kommun_villkor=[
            FolkbokfordVillkor(
                id="folkbokford",
                text="Folkbokförd",
                confirm_by=["Folkbokföringsregistret"],
                source=SRC,
            )
        ],
        insatser=[Insats(id="program", versions=[version])],
    )
    catalog = Catalog(kommuner={"bench": kc}, version="sha256:bench")
    on = dt.date(2026, 3, 2)
    cases = {
        "eligible with consent": ApplicantFacts(
            personnummer="201101022384",
            folkbokford_i_kommunen=True,
            guardians=[
                Guardian(label="vårdnadshavare 1", consent=True),
                Guardian(label="vårdnadshavare 2", consent=None),
            ],
        ),
        "needs facts": ApplicantFacts(),
        "not eligible": ApplicantFacts(stated_age=40, folkbokford_i_kommunen=False),
    }
    n = 20000
    for name, facts in cases.items():
        decide(catalog, "bench", "program", facts, on)
        best = min(
            timeit.repeat(
                lambda f=facts: decide(catalog, "bench", "program", f, on), number=n, repeat=5
            )
        )
        print(f"{name:24s} {best / n * 1e6:6.1f} µs per decide()")


if __name__ == "__main__":
    main()
