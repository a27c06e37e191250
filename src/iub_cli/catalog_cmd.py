"""``iub catalog``: list the insatser of the catalogue and validate its files."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from iub_contracts.catalog import Insats, InsatsVersion, KommunCatalog
from iub_contracts.catalog_diff import diff_catalogs
from iub_contracts.catalog_loader import Catalog, CatalogError, load_catalog, parse_catalog_text
from iub_contracts.questions import questions_for

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


def _row(k: KommunCatalog, insats: Insats, on: dt.date) -> dict:
    v = _shown_version(insats, on)
    kommun = k.kommun
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
        # the same questions GET /v1/kommuner/{k}/insatser/{id} returns (issue 11)
        "questions": [q.model_dump(mode="json", by_alias=True, exclude_none=True) for q in questions_for(k, v)],
        "readings": [r.id for r in k.readings_for(insats.id, v)],
        "versions": [
            {"valid_from": x.valid_from.isoformat(), "valid_to": x.valid_to.isoformat() if x.valid_to else None}
            for x in insats.versions
        ],
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
    rows = [_row(k, i, today) for k in kommuner for i in k.insatser]
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
    readings = [r for k in catalog.kommuner.values() for r, _ in k.all_readings()]
    waiting = sum(1 for r in readings if r.is_open)
    typer.echo(
        f"OK: {len(catalog.kommuner)} kataloger, {count} insatser, version {catalog.version}; "
        f"{len(readings)} läsningar, varav {waiting} väntar på nämnden (iub catalog readings --open)"
    )


def _insatser_of(k: KommunCatalog, reading, where: str) -> list[str]:
    """The insatser a reading affects: named (kommun-wide), the one it sits on, or all under a kommun villkor."""
    if where == "kommun":
        return list(reading.insatser)
    if where.startswith("kommun_villkor:"):
        return [i.id for i in k.insatser if any(v.kommun_villkor_apply for v in i.versions)]
    return [where.split(":", 1)[1].split("/", 1)[0]]


@catalog_app.command("readings")
def readings_cmd(
    kommun: Annotated[str | None, typer.Option("--kommun", help="Bara denna kommun.")] = None,
    only_open: Annotated[bool, typer.Option("--open", help="Bara läsningar som väntar på nämnden.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Skriv ut som JSON.")] = False,
    catalog_dir: CatalogOption = None,
) -> None:
    """Läsningar av källtexten som nämnden ska bekräfta (awaiting_board) eller har bekräftat."""
    from rich.console import Console
    from rich.table import Table

    catalog = load_or_exit(catalog_dir)
    if kommun is not None and catalog.kommun(kommun) is None:
        Console(stderr=True, soft_wrap=True).print(f"Okänd kommun: {kommun}", markup=False)
        raise typer.Exit(2)
    kommuner = [catalog.kommuner[kommun]] if kommun else list(catalog.kommuner.values())
    rows = []
    for k in kommuner:
        for r, where in k.all_readings():
            if only_open and not r.is_open:
                continue
            rows.append({
                "kommun": k.kommun,
                "id": r.id,
                "on": where,
                "insatser": _insatser_of(k, r, where),
                "villkor": where.rsplit("/", 1)[1] if where.startswith("villkor:") else (
                    where.split(":", 1)[1] if where.startswith("kommun_villkor:") else None),
                "topic": r.topic,
                "status": r.status.value,
                "confirmed_on": r.confirmed_on.isoformat() if r.confirmed_on else None,
                "decision_ref": r.decision_ref,
                "ages": list(r.ages) if r.ages else None,
                "source": r.source.model_dump(mode="json"),
                "reading": r.reading,
                "alternative": r.alternative,
            })
    counts = {
        k.kommun: {
            "open": sum(1 for r, _ in k.all_readings() if r.is_open),
            "confirmed": sum(1 for r, _ in k.all_readings() if not r.is_open),
        }
        for k in kommuner
    }
    if as_json:
        typer.echo(json.dumps({"readings": rows, "counts": counts}, ensure_ascii=False, indent=2))
        return
    table = Table(title="Läsningar av källtexten (läsningsregistret)")
    for column in ("Kommun", "Id", "Gäller", "Status", "Källa", "Vald läsning", "Alternativ"):
        table.add_column(column, overflow="fold")
    for r in rows:
        status = r["status"] if r["status"] != "confirmed" else f"confirmed {r['confirmed_on']} ({r['decision_ref']})"
        where = r["on"] if r["on"] != "kommun" else "kommun: " + ", ".join(r["insatser"])
        src = r["source"]
        table.add_row(r["kommun"], r["id"], where, status, f"{src['section']}: ”{src['quote']}”", r["reading"],
                      r["alternative"])
    Console().print(table)
    for k, c in counts.items():
        typer.echo(f"{k}: {c['open']} väntar på nämnden, {c['confirmed']} bekräftade")


def _git(args: list[str], cwd: Path) -> str:
    from rich.console import Console

    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        Console(stderr=True, soft_wrap=True).print(f"git {' '.join(args)}: {done.stderr.strip()}", markup=False)
        raise typer.Exit(2)
    return done.stdout


def _catalog_at_rev(rev: str, catalog_dir: Path) -> dict[str, KommunCatalog]:
    """The catalogue files as they were at a git revision (only the catalogue folder is read)."""
    from rich.console import Console


    catalog_dir = catalog_dir.resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], catalog_dir).strip())
    rel = catalog_dir.relative_to(top).as_posix()
    names = [n for n in _git(["ls-tree", "--name-only", f"{rev}:{rel}"], top).splitlines() if n.endswith(".yaml")]
    out: dict[str, KommunCatalog] = {}
    problems: list[str] = []
    for name in names:
        text = _git(["show", f"{rev}:{rel}/{name}"], top)
        try:
            cat = parse_catalog_text(f"{rev}:{rel}/{name}", text)
        except CatalogError as exc:
            problems += exc.problems
            continue
        out[cat.kommun] = cat
    if problems:
        err = Console(stderr=True, soft_wrap=True)
        for p in problems:
            err.print(p, markup=False, highlight=False)
        raise typer.Exit(1)
    return out


@catalog_app.command("diff")
def diff_cmd(
    from_: Annotated[str | None, typer.Option("--from", help="Git-revision (t.ex. main, HEAD~1, en tagg).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Git-revision; utan den: katalogmappen som den är nu.")] = None,
    dirs: Annotated[list[Path] | None, typer.Argument(help="Eller två katalogmappar: GAMMAL NY.")] = None,
    kommun: Annotated[str | None, typer.Option("--kommun", help="Bara denna kommun.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Skriv ut som JSON.")] = False,
    catalog_dir: CatalogOption = None,
) -> None:
    """Vad som ändrats per kommun: insatser, versioner, villkor, samtyckesregler, dokumentationsnivåer."""
    from rich.console import Console
    from rich.table import Table

    if dirs:
        if len(dirs) != 2 or from_ or to:
            Console(stderr=True).print("Ange antingen --from/--to eller två katalogmappar.", markup=False)
            raise typer.Exit(2)
        old = load_or_exit(dirs[0]).kommuner
        new = load_or_exit(dirs[1]).kommuner
    else:
        if from_ is None:
            Console(stderr=True).print("Ange --from REV (och --to REV) eller två katalogmappar.", markup=False)
            raise typer.Exit(2)
        folder = catalog_dir if catalog_dir is not None else default_catalog_dir()
        old = _catalog_at_rev(from_, folder)
        new = _catalog_at_rev(to, folder) if to else load_or_exit(folder).kommuner
    changes = diff_catalogs(old, new)
    if kommun is not None:
        changes = {k: v for k, v in changes.items() if k == kommun}
    if as_json:
        out = {k: [c.model_dump(mode="json", exclude_none=True) for c in v] for k, v in changes.items()}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if not changes:
        typer.echo("Inga ändringar.")
        return
    for k, items in changes.items():
        table = Table(title=f"{k}: {len(items)} ändringar")
        for column in ("Insats", "Från", "Vad", "Hur", "Id", "Beskrivning"):
            table.add_column(column, overflow="fold")
        for c in items:
            table.add_row(c.insats or "–", c.valid_from.isoformat() if c.valid_from else "–", c.what, c.how,
                          c.id or "–", c.detail)
        Console().print(table)
