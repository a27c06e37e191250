"""``iub audit``: verify the hash chains, checkpoint, partsinsyn export, follow-up statistics, gallring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from iub_audit.domain.stats import DIMENSIONS, follow_up
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, default_sqlite_url, make_engine, migrate

audit_app = typer.Typer(help="Documentation: hash chains, partsinsyn, uppföljning and gallring.", no_args_is_help=True)
DB_OPTION = typer.Option(None, "--database-url", help="Audit store URL (default: IUB_DATABASE_URL or ./var SQLite)")


def open_store(database_url: str | None) -> AuditStore:
    """The audit store the services write to."""
    s = AuditSettings()
    url = database_url or s.database_url or default_sqlite_url(Path(s.var_dir))
    engine = make_engine(url)
    migrate(engine)
    return AuditStore(engine)


@audit_app.command("verify")
def verify(kommun: str | None = typer.Option(None, "--kommun"), database_url: str | None = DB_OPTION) -> None:
    """Recompute every kommun's hash chain and report the first broken link."""
    result = open_store(database_url).verify(kommun)
    broken = {k: v for k, v in result.items() if v is not None}
    for k, seq in sorted(result.items()):
        typer.echo(f"{k}: " + ("intakt" if seq is None else f"BRUTEN vid post {seq}"))
    raise typer.Exit(1 if broken else 0)


@audit_app.command("checkpoint")
def checkpoint(database_url: str | None = DB_OPTION) -> None:
    """Print every chain head (count + hash) as JSON, to export where operators cannot rewrite it."""
    heads = open_store(database_url).checkpoint()
    typer.echo(json.dumps({"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "heads": heads}, indent=2))


@audit_app.command("export")
def export(
    personnummer: str = typer.Option(..., "--personnummer", help="The person's personnummer (partsinsyn)"),
    kommun: list[str] = typer.Option(None, "--kommun", help="Limit to these kommuner"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Partsinsyn: every individual-level record about one person, as JSON."""
    from personnummer import personnummer as pnr_lib

    try:
        pnr = pnr_lib.Personnummer(personnummer.strip()).format(True)
    except Exception:
        typer.echo("ogiltigt personnummer", err=True)
        raise typer.Exit(2) from None
    rows = open_store(database_url).export_person(pnr, kommun or None)
    typer.echo(json.dumps({"records": rows, "count": len(rows)}, indent=2, ensure_ascii=False))


@audit_app.command("stats")
def stats(
    kommun: str = typer.Option(..., "--kommun"),
    start: dt.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"]),
    end: dt.datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"]),
    by: str = typer.Option("insats", "--by", help=f"Comma-separated: {','.join(DIMENSIONS)}"),
    as_json: bool = typer.Option(False, "--json"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Follow-up statistics from all three levels; cells below 5 shown as <5 (with complementary suppression)."""
    dims = [d.strip() for d in by.split(",") if d.strip()]
    try:
        result = follow_up(open_store(database_url).rows_for_stats(kommun, start.date(), end.date()), dims)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    result = {"kommun": kommun, "from": start.date().isoformat(), "to": end.date().isoformat(), **result}
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Uppföljning {kommun} {result['from']}–{result['to']}")
    for d in dims:
        table.add_column(d)
    table.add_column("antal", justify="right")
    for cell in result["cells"]:
        table.add_row(*[str(cell[d]) for d in dims], str(cell["count"]))
    table.add_row(*(["totalt"] + [""] * (len(dims) - 1)), str(result["total"]))
    Console().print(table)


@audit_app.command("purge")
def purge(
    before: dt.datetime | None = typer.Option(None, "--before", formats=["%Y-%m-%d"],
                                              help="Purge every level before this day"),
    yes: bool = typer.Option(False, "--yes", help="Confirm"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Gallring: drop the content of expired records (per-level retention, or --before); the chain still verifies."""
    if not yes:
        typer.echo("gallring tar bort innehåll för gott: lägg till --yes", err=True)
        raise typer.Exit(2)
    store = open_store(database_url)
    now = dt.datetime.now(dt.UTC)
    if before is not None:
        n = store.purge(before.date(), now=now)
    else:
        s = AuditSettings()
        today = now.date()
        n = sum(
            store.purge(today - dt.timedelta(days=days), levels=[level], now=now)
            for level, days in (("individual", s.retention_days_individual),
                                ("anonymised", s.retention_days_anonymised),
                                ("advisory", s.retention_days_advisory))
        )
    typer.echo(f"{n} poster gallrade")
    bad = {k: v for k, v in store.verify().items() if v is not None}
    if bad:
        typer.echo(f"kedjan bruten efter gallring: {bad}", err=True)
        raise typer.Exit(1)
