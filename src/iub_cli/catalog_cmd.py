"""``iub catalog``: list the insatser of the catalogue and validate its files."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from iub_contracts.catalog import Insats, InsatsVersion
from iub_contracts.catalog_loader import Catalog, CatalogError, load_catalog

catalog_app = typer.Typer(
    help="Katalogen över insatser utan individuell behovsprövning.", no_args_is_help=True
)

CATALOG_ENV = "IUB_CATALOG_DIR"


def _find_catalog_upwards(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "catalog"
        if candidate.is_dir() and (folder / "pyproject.toml").is_file():
            return candidate
    return None


def default_catalog_dir() -> Path:
    """IUB_CATALOG_DIR, else the repo's ``catalog/`` found from the cwd, else from this file."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env)
    found = _find_catalog_upwards(Path.cwd().resolve()) or _find_catalog_upwards(
        Path(__file__).resolve().parent
    )
    return found if found is not None else Path("catalog")


def stockholm_today() -> dt.date:
    """Today's date in Sweden (the CLI edge is the only place that reads the clock)."""
    try:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()
    except Exception:  # no tz database: the local date is the best there is
        return dt.date.today()


def load_or_exit(directory: Path | None) -> Catalog:
    """Load the catalogue or print every problem to stderr and exit 1."""
    directory = directory if directory is not None else default_catalog_dir()
    try:
        return load_catalog(directory)
    except CatalogError as exc:
        from rich.console import Console  # rich only where it prints: `iub eligibility check` starts faster

        err = Console(stderr=True, soft_wrap=True)
        for problem in exc.problems:
            err.print(problem, markup=False, highlight=False)
        raise typer.Exit(1) from None


CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help=f"Katalogmapp (standard: ${CATALOG_ENV} eller catalog/ i repot).",
        file_okay=False,
    ),
]


def _shown_version(insats: Insats, on: dt.date) -> InsatsVersion:
    """The version in force today, else the latest one."""
    return insats.in_force(on) or max(insats.versions, key=lambda v: v.valid_from)


def _row(kommun: str, insats: Insats, on: dt.date) -> dict:
    v = _shown_version(insats, on)
    return {
        "kommun": kommun,
        "insats": insats.id,
        "name": v.name,
        "unit": v.unit,
        "in_force": insats.in_force(on) is not None,
        "valid_from": v.valid_from.isoformat(),
        "valid_to": v.valid_to.isoformat() if v.valid_to else None,
        "documentation_level": v.documentation.level.value,
        "legal_basis": v.documentation.legal_basis,
        "anonymous_allowed": v.anonymous_allowed,
        "villkor": [x.text for x in v.villkor],
        "kommun_villkor_apply": v.kommun_villkor_apply,
        "topic": v.topic,
    }


@catalog_app.command("list")
def list_cmd(
    kommun: Annotated[str | None, typer.Option("--kommun", help="Bara denna kommun.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Skriv ut som JSON.")] = False,
    catalog_dir: CatalogOption = None,
) -> None:
    """Lista insatserna (versionen som gäller i dag, annars den senaste)."""
    from rich.console import Console
    from rich.table import Table

    catalog = load_or_exit(catalog_dir)
    today = stockholm_today()
    if kommun is not None and catalog.kommun(kommun) is None:
        Console(stderr=True, soft_wrap=True).print(f"Okänd kommun: {kommun}", markup=False)
        raise typer.Exit(2)
    kommuner = [catalog.kommuner[kommun]] if kommun else list(catalog.kommuner.values())
    rows = [_row(k.kommun, i, today) for k in kommuner for i in k.insatser]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Insatser utan individuell behovsprövning ({catalog.version})")
    for column in ("Kommun", "Insats", "Namn", "Dokumentation", "Villkor", "Gäller"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["kommun"],
            r["insats"],
            r["name"],
            f"{r['documentation_level']} ({r['legal_basis']})",
            "\n".join(r["villkor"]) or "–",
            "ja" if r["in_force"] else f"nej (från {r['valid_from']})",
        )
    Console().print(table)


@catalog_app.command("validate")
def validate_cmd(catalog_dir: CatalogOption = None) -> None:
    """Validera katalogfilerna; varje fel skrivs ut med fil, sökväg och orsak."""
    catalog = load_or_exit(catalog_dir)
    count = sum(len(k.insatser) for k in catalog.kommuner.values())
    typer.echo(
        f"OK: {len(catalog.kommuner)} kataloger, {count} insatser, version {catalog.version}"
    )
