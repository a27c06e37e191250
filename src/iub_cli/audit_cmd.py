"""``iub audit``: verify the hash chains, checkpoint, partsinsyn export, follow-up statistics, gallring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from iub_audit.carrying_out import purge_events
from iub_audit.cases import purge_cases
from iub_audit.checkpoints import append_checkpoint, read_checkpoints
from iub_audit.domain.chain import latest_checkpoints
from iub_audit.domain.retention import cutoffs, expired
from iub_audit.domain.stats import DIMENSIONS, follow_up
from iub_audit.insyn import normalise
from iub_audit.settings import AuditSettings, SecretMissing
from iub_audit.store import AuditStore, default_sqlite_url, make_engine, migrate

audit_app = typer.Typer(help="Documentation: hash chains, partsinsyn, uppföljning and gallring.", no_args_is_help=True)
DB_OPTION = typer.Option(None, "--database-url", help="Audit store URL (default: IUB_DATABASE_URL or ./var SQLite)")


def open_store(database_url: str | None) -> AuditStore:
    """The audit store the service writes to (migrated), with the chain key (exit 2 without one)."""
    s = AuditSettings()
    local = Path(s.var_dir) / "secrets" / "audit-chain.key"  # what `iub up` generated for this var dir
    if s.chain_key is None and s.chain_key_file is None and local.exists():
        s = s.model_copy(update={"chain_key_file": str(local)})
    try:
        signer = s.signer()
    except (SecretMissing, OSError) as exc:
        typer.echo(f"kedjenyckeln saknas: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(database_url or s.database_url or default_sqlite_url(Path(s.var_dir)))
    migrate(engine)
    return AuditStore(engine, signer)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def purge_allowed_by(retention: dict[str, int], today: dt.date):
    """A gallring mark is allowed when the record had expired on the day it was set (never in the future)."""
    def allowed(header, purged_at: dt.datetime | None) -> bool:
        if purged_at is None:
            return False
        day = (purged_at if purged_at.tzinfo else purged_at.replace(tzinfo=dt.UTC)).date()
        return day <= today and expired(cutoffs(day, retention), header.level, header.day)
    return allowed


@audit_app.command("verify")
def verify(
    kommun: str | None = typer.Option(None, "--kommun", help="Only this kommun's chain"),
    checkpoint_file: Path | None = typer.Option(
        None, "--checkpoint", exists=True, dir_okay=False,
        help="Compare with exported heads (default: IUB_AUDIT_CHECKPOINT_PATH when set)"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Recompute every kommun's hash chain and its MACs and report the first broken link (exit 1 if any)."""
    store = open_store(database_url)
    settings = AuditSettings()
    today = _today()
    cut = cutoffs(today, settings.retention_days())
    result = store.verify(kommun, purged_too_early=lambda h: not expired(cut, h.level, h.day),
                          purge_allowed=purge_allowed_by(settings.retention_days(), today))
    problems = 0
    for k, broken in sorted(result.items()):
        typer.echo(f"{k}: intakt" if broken is None else f"{k}: BRUTEN vid post {broken.seq} ({broken.reason})")
        problems += broken is not None
    if checkpoint_file is None and settings.checkpoint_path:
        checkpoint_file = Path(settings.checkpoint_path)
        if not checkpoint_file.exists():
            typer.echo(f"kontrollpunktsfilen saknas: {checkpoint_file}", err=True)
            raise typer.Exit(1)
    if checkpoint_file is not None:
        latest, bad = latest_checkpoints(
            [h for h in read_checkpoints(checkpoint_file) if kommun is None or h.kommun == kommun], store.signer)
        for why in bad:
            typer.echo(f"KONTROLLPUNKT AVVISAD: {why}")
        problems += len(bad)
        kept = lambda level, day: not expired(cut, level, day)  # noqa: E731
        for k, why in sorted(store.compare_checkpoint(latest.values(), kept).items()):
            typer.echo(f"{k}: stämmer med kontrollpunkten" if why is None
                       else f"{k}: AVVIKER från kontrollpunkten: {why}")
            problems += why is not None
    raise typer.Exit(1 if problems else 0)


@audit_app.command("checkpoint")
def checkpoint(
    append: Path | None = typer.Option(None, "--append", help="Append one signed line to this file (cron/timer)"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Print every chain head, signed with the chain key, as JSON, to keep where operators cannot rewrite it."""
    store = open_store(database_url)
    if append is not None:
        n = append_checkpoint(store, append)
        typer.echo(f"{n} kedjehuvuden tillagda i {append}")
        return
    heads = store.checkpoint()
    typer.echo(json.dumps({"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "heads": heads}, indent=2))


@audit_app.command("export")
def export(
    personnummer: str = typer.Option(..., "--personnummer", help="The person's personnummer (partsinsyn)"),
    kommun: list[str] = typer.Option(None, "--kommun", help="Limit to these kommuner"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Partsinsyn: every individual-level record about one person, as JSON (other levels are unlinkable)."""
    try:
        pnr = normalise(personnummer)
    except ValueError:
        typer.echo("ogiltigt personnummer", err=True)
        raise typer.Exit(2) from None
    rows = open_store(database_url).export_person(pnr, kommun or None)
    typer.echo(json.dumps({"records": rows, "count": len(rows)}, indent=2, ensure_ascii=False))


def _stats_table(result: dict[str, Any]) -> Table:
    by = result["by"]
    title = f"Uppföljning {result['kommun']} {result['from']}–{result['to']}"
    if "row_totals" in result:  # cross table with totals
        rows, cols = list(result["row_totals"]), list(result["column_totals"])
        cell = {(c[by[0]], c[by[1]]): c["count"] for c in result["cells"]}
        table = Table(title=title)
        table.add_column(f"{by[0]} \\ {by[1]}")
        for c in cols:
            table.add_column(str(c), justify="right")
        table.add_column("totalt", justify="right")
        for r in rows:
            table.add_row(str(r), *[str(cell[(r, c)]) for c in cols], str(result["row_totals"][r]))
        table.add_row("totalt", *[str(result["column_totals"][c]) for c in cols], str(result["total"]))
        return table
    table = Table(title=title)
    for d in by:
        table.add_column(d)
    table.add_column("antal", justify="right")
    for c in result["cells"]:
        table.add_row(*[str(c[d]) for d in by], str(c["count"]))
    table.add_row(*(["totalt"] + [""] * (len(by) - 1)), str(result["total"]))
    return table


@audit_app.command("stats")
def stats(
    kommun: str = typer.Option(..., "--kommun"),
    start: dt.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"]),
    end: dt.datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"]),
    by: str = typer.Option("insats", "--by", help=f"insats, one of {','.join(DIMENSIONS[1:])}, or insats,DIM"),
    as_json: bool = typer.Option(False, "--json"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Follow-up statistics from all three levels; 1–4 shown as <5, x hides a cell that would reveal one."""
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
    console = Console()
    console.print(_stats_table(result))
    if result.get("note"):
        console.print(result["note"])
    console.print("  ".join(f"{k} = {v}" for k, v in result["legend"].items()))


@audit_app.command("followup")
def followup_cmd(
    kommun: str = typer.Option(..., "--kommun"),
    year: int = typer.Option(..., "--year"),
    insats: str | None = typer.Option(None, "--insats", help="Only this insats"),
    as_csv: bool = typer.Option(False, "--csv", help="CSV: one line per insats, unit and measure"),
    as_json: bool = typer.Option(False, "--json"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Uppföljning of the carrying out per insats and unit; 1–4 shown as <5, x hides a revealing cell."""
    from iub_audit.followup_page import report
    from iub_contracts.catalog_loader import default_catalog_dir, load_catalog

    s = AuditSettings()
    catalog = load_catalog(Path(s.catalog_dir) if s.catalog_dir else default_catalog_dir())
    rep = report(open_store(database_url).engine, catalog, kommun, year, insats)
    if as_json:
        typer.echo(json.dumps(rep, indent=2, ensure_ascii=False))
        return
    lines = _followup_lines(rep)
    if as_csv:
        import csv
        import sys

        w = csv.writer(sys.stdout)
        w.writerow(["kommun", "year", "insats_id", "unit", "level", "measure", "value"])
        for line in lines:
            w.writerow([kommun, year, *line])
        return
    table = Table(title=f"Uppföljning {year} – {rep['kommun_name']}")
    for col in ("insats", "enhet", "nivå", "mått", "värde"):
        table.add_column(col)
    for line in lines:
        table.add_row(*map(str, line))
    console = Console()
    console.print(table)
    console.print("  ".join(f"{k} = {v}" for k, v in rep["legend"].items()))


@audit_app.command("history-index")
def history_index(database_url: str | None = DB_OPTION) -> None:
    """Rebuild the history index (14 kap 3 § ends for has_had_insats villkor) in Redis from the audit store."""
    import asyncio

    import redis.asyncio as aioredis

    from iub_audit.carrying_out import individual_ends
    from iub_contracts.facts import RecordedEnd
    from iub_runtime import history

    s = AuditSettings()
    secret = history.secret_of(s.history_key, s.development())
    if secret is None:
        typer.echo("IUB_HISTORY_KEY saknas: historikindexet används inte", err=True)
        raise typer.Exit(2)
    ends = individual_ends(open_store(database_url).engine)
    keep = s.retention_days()["individual"]

    async def write() -> None:
        r = aioredis.Redis.from_url(s.redis_url)
        try:
            for kommun, pnr, insats, unit, day in ends:
                await history.record_end(r, secret, kommun, pnr, RecordedEnd(insats_id=insats, unit=unit, ended_on=day),
                                         day + dt.timedelta(days=keep))
        finally:
            await r.aclose()

    asyncio.run(write())
    typer.echo(f"{len(ends)} avslut i historikindexet")


def _followup_lines(rep: dict[str, Any]) -> list[tuple]:
    out = []
    for it in rep["insatser"]:
        key = (it["insats_id"], it["unit"], it["level"])
        if it["level"] == "advisory":
            out += [(*key, f"topic:{k}", v) for k, v in it["advisory_by_topic"]["cells"].items()]
            out.append((*key, "contacts", it["advisory_by_topic"]["total"]))
            continue
        out += [(*key, "contacts", it["contacts"]), (*key, "participants", it["participants"]),
                (*key, "started", it["started"])]
        out += [(*key, f"end:{k}", v) for k, v in it["outcome"].items()]
        out.append((*key, "share_completed", "" if it["share_completed"] is None else it["share_completed"]))
        ag = it["age_gender"]
        out += [(*key, f"age_gender:{k}", v) for k, v in ag["cells"].items()]
        for row, cols in (it.get("change_start_to_end") or {}).items():
            out += [(*key, f"change:{row}:{c}", v) for c, v in cols.items()]
    return out


def vacuum_after_gallring(engine: Any) -> str:
    """Rewrite the store's files so purged records are gone from disk, not only from the tables.

    SQLite: ``VACUUM`` rebuilds the file without the freed pages, then the WAL is checkpointed and
    truncated (it held the old pages too). PostgreSQL: ``VACUUM (FULL, ANALYZE)`` rewrites the
    records table into new files and drops the old ones (a plain VACUUM only marks the dead rows
    reusable, their bytes stay); it holds an exclusive lock for the rewrite, during which audit's
    writes wait. Old WAL segments are recycled after the next checkpoints; backups keep their own
    copies until they expire (see the README).
    """
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # isolation_level None: no implicit transaction around VACUUM
        try:
            cur = raw.cursor()
            cur.execute("VACUUM")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.close()
        finally:
            raw.close()
        return "VACUUM, wal_checkpoint(TRUNCATE)"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("audit_records", "audit_chain_heads"):
            conn.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {table}")
    return "VACUUM (FULL, ANALYZE)"


@audit_app.command("purge")
def purge(
    before: dt.datetime | None = typer.Option(None, "--before", formats=["%Y-%m-%d"],
                                              help="Only records before this day (never within their retention)"),
    yes: bool = typer.Option(False, "--yes", help="Confirm: gallring cannot be undone"),
    vacuum: bool = typer.Option(True, "--vacuum/--no-vacuum",
                                help="Rewrite the database files afterwards so purged data leaves the disk"),
    database_url: str | None = DB_OPTION,
) -> None:
    """Gallring: remove records past their level's retention; the chains still verify (new bases printed).

    Then, when anything was purged, VACUUM (SQLite) or VACUUM FULL (PostgreSQL) so the purged
    records are gone from the database files too.
    """
    if not yes:
        typer.echo("gallring tar bort poster för gott: lägg till --yes", err=True)
        raise typer.Exit(2)
    store = open_store(database_url)
    cut = cutoffs(_today(), AuditSettings().retention_days(), before.date() if before else None)
    results = store.purge(cut, now=dt.datetime.now(dt.UTC))
    events_gone = purge_events(store.engine, cut)  # the carrying-out index goes with its records
    if events_gone:
        typer.echo(f"{events_gone} genomförandehändelser gallrade ur händelseindexet")
    deleted = sum(r.deleted for r in results)
    emptied = sum(r.emptied for r in results)
    typer.echo(f"{deleted + emptied} poster gallrade ({deleted} borttagna, {emptied} tömda i väntan på sin tur)")
    gone_cases = purge_cases(store.engine, cut)
    typer.echo(f"{gone_cases} utförarärenden gallrade")
    if vacuum and deleted + emptied + gone_cases:
        typer.echo(f"databasfilerna omskrivna: {vacuum_after_gallring(store.engine)}")
    typer.echo(json.dumps({"cutoffs": {k: v.isoformat() for k, v in cut.items()},
                           "bases": [{"kommun": r.kommun, "base_seq": r.base_seq, "base_hash": r.base_hash}
                                     for r in results]}, indent=2))
    refused = [r for r in results if r.refused is not None]
    for r in refused:
        typer.echo(f"{r.kommun}: inte gallrad, kedjan är bruten vid post {r.refused.seq} ({r.refused.reason})",
                   err=True)
    still = {k: b for k, b in store.verify().items() if b is not None}
    if refused or still:
        raise typer.Exit(1)

