"""``iub notify``: waiting times per insats (queue) and the coverage report of the 11 kap 6 § duty."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from iub_cli.catalog_cmd import CatalogOption, load_or_exit
from iub_notify.domain.information import needs_alternatives
from iub_notify.queue import all_waits, set_wait_days
from iub_runtime.settings import RuntimeSettings
from iub_runtime.topology import connect_redis

T = TypeVar("T")

notify_app = typer.Typer(
    help="Informationen enligt 11 kap. 6 § SoL: väntetider och täckning.", no_args_is_help=True
)
queue_app = typer.Typer(help="Väntetider per insats (styr information om alternativ).", no_args_is_help=True)
notify_app.add_typer(queue_app, name="queue")


def default_redis_url() -> str:
    """REDIS_URL, else the Redis that ``iub up`` starts (IUB_REDIS_PORT, default 6380)."""
    return os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{os.environ.get('IUB_REDIS_PORT', '6380')}/0"


RedisOption = Annotated[
    str | None,
    typer.Option("--redis-url", help="Redis med strömmarna (standard: $REDIS_URL eller iub up:s Redis)."),
]
KommunOption = Annotated[str, typer.Option("--kommun", help="Kommunens id, t.ex. 'sala'.")]
InsatsOption = Annotated[str, typer.Option("--insats", help="Insatsens id.")]


def _run(url: str | None, work: Callable[[Redis], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = RuntimeSettings()
        # Sentinel or Cluster (IUB_REDIS_MODE): the runtime builds the client
        redis = (connect_redis(settings, max_connections=8) if settings.redis_mode != "single"
                 else Redis.from_url(url or default_redis_url()))
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(message, markup=False, highlight=False)
    return typer.Exit(code)


def _check_insats(catalog_dir, kommun: str, insats: str) -> None:
    catalog = load_or_exit(catalog_dir)
    if catalog.kommun(kommun) is None:
        raise _fail(f"Okänd kommun: {kommun}")
    if catalog.lookup(kommun, insats) is None:
        raise _fail(f"Okänd insats i {kommun}: {insats}")


@notify_app.callback()
def _group() -> None:
    """Väntetider och täckningsrapport för informationsplikten."""


@queue_app.command("set")
def queue_set(
    kommun: KommunOption,
    insats: InsatsOption,
    days: Annotated[int, typer.Option("--days", min=0, help="Förväntad väntetid i dagar.")],
    redis_url: RedisOption = None,
    catalog_dir: CatalogOption = None,
) -> None:
    """Sätt den förväntade väntetiden för en insats."""
    _check_insats(catalog_dir, kommun, insats)
    _run(redis_url, lambda r: set_wait_days(r, kommun, insats, days))
    typer.echo(f"Väntetid för {kommun}/{insats}: {days} dagar.")


@queue_app.command("clear")
def queue_clear(
    kommun: KommunOption,
    insats: InsatsOption,
    redis_url: RedisOption = None,
) -> None:
    """Ta bort väntetiden för en insats (ingen kö)."""
    _run(redis_url, lambda r: set_wait_days(r, kommun, insats, None))
    typer.echo(f"Ingen väntetid för {kommun}/{insats}.")


@queue_app.command("list")
def queue_list(
    kommun: Annotated[str | None, typer.Option("--kommun", help="Bara denna kommun.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Skriv ut som JSON.")] = False,
    redis_url: RedisOption = None,
    catalog_dir: CatalogOption = None,
) -> None:
    """Lista väntetiderna och om informationen räknar upp alternativ."""
    catalog = load_or_exit(catalog_dir)
    rows = []
    for key, days in sorted(_run(redis_url, all_waits).items()):
        k, _, insats = key.partition("/")
        if kommun and k != kommun:
            continue
        kat = catalog.kommun(k)
        reasonable = kat.reasonable_wait_days if kat else None
        rows.append({"kommun": k, "insats": insats, "days": days, "reasonable_wait_days": reasonable,
                     "alternatives_listed": needs_alternatives(days, reasonable),
                     "in_catalog": catalog.lookup(k, insats) is not None})
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("Inga väntetider satta.")
        return
    table = Table(title="Väntetider")
    for column in ("Kommun", "Insats", "Dagar", "Rimlig tid", "Alternativ visas"):
        table.add_column(column)
    for r in rows:
        reasonable = "ej angiven" if r["reasonable_wait_days"] is None else f"{r['reasonable_wait_days']} dagar"
        insats = r["insats"] if r["in_catalog"] else f"{r['insats']} (finns inte i katalogen)"
        table.add_row(r["kommun"], insats, str(r["days"]), reasonable, "ja" if r["alternatives_listed"] else "nej")
    Console().print(table)


@notify_app.command("coverage")
def coverage_cmd(
    kommun: Annotated[str | None, typer.Option("--kommun", help="Kommunens id; utan: alla.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Från dag (ÅÅÅÅ-MM-DD); standard: 30 dagar bakåt.")]
    = None,
    end: Annotated[str | None, typer.Option("--to", help="Till och med dag (ÅÅÅÅ-MM-DD); standard: i dag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Skriv ut som JSON.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 om någon inte har informerats.")] = False,
    database_url: Annotated[str | None, typer.Option("--database-url", help="Dokumentationens databas.")] = None,
) -> None:
    """Mottagna, informerade, misslyckade och väntande per kanal och kommun, ur dokumentationen (varaktig)."""
    import datetime as dt

    from iub_audit.domain.coverage import coverage, totals
    from iub_cli.audit_cmd import open_store

    try:
        to_day = dt.date.fromisoformat(end) if end else dt.datetime.now(dt.UTC).date()
        from_day = dt.date.fromisoformat(start) if start else to_day - dt.timedelta(days=30)
    except ValueError:
        raise _fail("Ogiltigt datum: --from/--to väntar ÅÅÅÅ-MM-DD.") from None
    rows = coverage(open_store(database_url).coverage_entries(kommun, from_day, to_day))
    total = totals(rows, kommun or "alla")
    data = {"kommun": kommun, "from": from_day.isoformat(), "to": to_day.isoformat(), "source": "audit store",
            "rows": [r.as_dict() for r in rows], "total": total.as_dict()}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"Information enligt 11 kap. 6 § SoL, {kommun or 'alla kommuner'}, "
                            f"{from_day}–{to_day} (ur dokumentationen)")
        for column in ("Kommun", "Kanal", "Mottagna", "Informerade", "Misslyckade", "Väntande"):
            table.add_column(column)
        for r in [*rows, total]:
            table.add_row(r.kommun, r.channel, str(r.received), str(r.informed), str(r.failed), str(r.pending))
        Console().print(table)
        if total.unmatched:
            typer.echo(f"VARNING: {total.unmatched} informationsposter utan dokumenterat beslut")
    if check and not total.complete:
        raise typer.Exit(1)
