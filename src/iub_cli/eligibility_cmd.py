"""``iub eligibility check``: decide one request against the catalogue and print it as JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from iub_cli.catalog_cmd import CatalogOption, load_or_exit, stockholm_today
from iub_contracts.decision import DecisionError
from iub_contracts.facts import ApplicantFacts
from iub_eligibility.domain.decide import decide

eligibility_app = typer.Typer(
    help="Pröva villkor och samtycke för en insats utan individuell behovsprövning.",
    no_args_is_help=True,
)


@eligibility_app.callback()
def _group() -> None:
    """Pröva villkor och samtycke (håller 'check' som underkommando)."""


def _fail(message: str) -> typer.Exit:
    from rich.console import Console  # only on failure: rich costs a tenth of a second to import

    Console(stderr=True, soft_wrap=True).print(message, markup=False, highlight=False)
    return typer.Exit(2)


@eligibility_app.command("check")
def check_cmd(
    kommun: Annotated[str, typer.Option("--kommun", help="Kommunens id, t.ex. 'sala'.")],
    insats: Annotated[str, typer.Option("--insats", help="Insatsens id.")],
    facts_file: Annotated[
        Path,
        typer.Option("--facts", help="JSON-fil med ApplicantFacts.", exists=True, dir_okay=False),
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="Datum (ÅÅÅÅ-MM-DD); standard: i dag.")
    ] = None,
    catalog_dir: CatalogOption = None,
) -> None:
    """Skriv ut beslutet (Decision) som JSON; exit 0 för ett beslut, 2 för ett fel."""
    try:
        on = dt.date.fromisoformat(at) if at else stockholm_today()
    except ValueError:
        raise _fail(f"Ogiltigt datum för --at: {at!r} (ÅÅÅÅ-MM-DD väntas)") from None
    try:
        facts = ApplicantFacts.model_validate_json(facts_file.read_bytes())
    except ValidationError as exc:
        # Locations and messages only: the input may be personal data.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise _fail(f"Ogiltiga uppgifter i {facts_file}: {problems}") from None
    catalog = load_or_exit(catalog_dir)
    result = decide(catalog, kommun, insats, facts, on)
    typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    if isinstance(result, DecisionError):
        raise typer.Exit(2)
