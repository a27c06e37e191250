"""``iub ops``: streams, consumer groups and dead letters for kommun IT (no developer needed).

Exit codes of ``iub ops status`` (for monitoring scripts): 0 all within limits, 1 a threshold
crossed, 3 Redis unreachable. Dead letters and failed information are limits by default (0):
the status is not OK while either exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from typing import Any

import typer
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from iub_contracts.streams import ALL_STREAMS, all_named, base_of
from iub_runtime.consumer import served_shards
from iub_runtime.pii import redact_all
from iub_runtime.settings import RuntimeSettings
from iub_runtime.stream_stats import (
    DATA_FIELD,
    INFORMATION_WINDOW_S,
    DeadLetterEntry,
    StreamsSnapshot,
    Thresholds,
    Violation,
    dlq_name,
    evaluate,
    find_dead_letter,
    read_dead_letters,
    read_snapshot,
)
from iub_runtime.topology import connect_redis

EXIT_THRESHOLD = 1
EXIT_UNREACHABLE = 3
MASK = "[maskerat]"
# JSON fields masked whatever their value: identity and what can lead to a person
MASKED_FIELDS = frozenset({"personnummer", "birth_date", "callback_url", "call_ref"})
MASK_TOKENS = ("[personnummer]", "[e-post]", "[telefon]", MASK)
STREAM_ID = re.compile(r"^\d+-\d+$")

ops_app = typer.Typer(help="Operators: streams, consumer groups, lag and dead letters.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list, show (masked), replay after a fix, drop.", no_args_is_help=True)
ops_app.add_typer(dlq_app, name="dlq")


def default_redis_url() -> str:
    """REDIS_URL, else the Redis `iub up` starts (port IUB_REDIS_PORT, default 6380)."""
    return os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{os.environ.get('IUB_REDIS_PORT', '6380')}/0"


REDIS_URL = typer.Option(None, "--redis-url", envvar="REDIS_URL", show_envvar=True,
                         help="Redis with the streams [default: the Redis of `iub up`]")
STREAMS = typer.Option(None, "--stream", "-s", help="Only these streams (repeatable) [default: all]")


# ---------------------------------------------------------------- pure: masking and formatting


def mask_personal(value: Any) -> Any:
    """A JSON value with identity fields masked and personal data in every string redacted."""
    if isinstance(value, dict):
        return {k: (MASK if k in MASKED_FIELDS and v not in (None, "") else mask_personal(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal(v) for v in value]
    if isinstance(value, str):
        return redact_all(value)
    return value


def mask_payload(text: str) -> Any:
    """A dead letter's payload for display: parsed and masked, or redacted text if not JSON."""
    try:
        return mask_personal(json.loads(text))
    except ValueError:
        return redact_all(text)


def masked_entry(entry: DeadLetterEntry) -> dict[str, Any]:
    """A dlq entry as a dict safe to show an operator."""
    out: dict[str, Any] = {"dlq_stream": entry.dlq_stream, "dlq_id": entry.dlq_id}
    if entry.letter is None:
        return {**out, "unparsed": mask_payload(entry.raw or "")}
    letter = entry.letter.model_dump(mode="json")
    letter["payload"] = mask_payload(entry.letter.payload)
    return {**out, **letter}


def replay_refusal(entry: DeadLetterEntry, force: bool = False) -> str | None:
    """Why a dead letter must not be replayed (None: it may); --force passes only a masked payload."""
    if entry.letter is None:
        return "not a dead letter (its __data__ does not parse)"
    if dlq_name(entry.letter.stream) != entry.dlq_stream:
        return f"it names stream {entry.letter.stream!r}, not the one of {entry.dlq_stream!r}"
    if base_of(entry.letter.stream) not in ALL_STREAMS:
        return f"{entry.letter.stream!r} is not a contract stream"
    masked = not STREAM_ID.match(entry.letter.entry_id) or any(t in entry.letter.payload for t in MASK_TOKENS)
    if masked and not force:
        return "its payload was masked when it was set aside (a refusal record, not a failed delivery); --force"
    return None


def fmt_age(seconds: float | None) -> str:
    """A duration for people: 4.2s, 3m 05s, 2h 03m, 1d 02h."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def status_json(snapshot: StreamsSnapshot, violations: list[Violation]) -> dict[str, Any]:
    """The machine-readable status: the snapshot, the violations and ok."""
    return {
        "ok": not violations,
        "violations": [{**v.model_dump(), "text": str(v)} for v in violations],
        **snapshot.model_dump(mode="json"),
    }


def status_table(snapshot: StreamsSnapshot, violations: list[Violation]) -> Table:
    """One row per consumer group; a crossed limit in red."""
    bad = {(v.stream, v.group, v.metric) for v in violations}

    def cell(stream: str, group: str | None, metric: str, text: str) -> Text:
        return Text(text, style="bold red" if (stream, group, metric) in bad else "")

    table = Table(title=f"IUB streams at {snapshot.taken_at:%Y-%m-%d %H:%M:%S} UTC (Redis {snapshot.redis_version})")
    table.add_column("stream", no_wrap=True)
    table.add_column("length", justify="right")
    table.add_column("dead letters", justify="right")
    table.add_column("group", no_wrap=True)
    for col in ("pending", "waiting", "lag", "oldest pending"):
        table.add_column(col, justify="right")
    table.add_column("consumers (idle)")
    for s in snapshot.streams:
        rows: list[tuple[Any, ...]] = []
        for g in s.groups:
            lag = "?" if g.lag is None else f"{g.lag}" + ("" if g.lag_exact else "+")
            consumers = ", ".join(f"{c.name} ({fmt_age(c.idle_s)})" for c in g.consumers) or "—"
            waiting = f"{g.waiting}" + ("" if g.waiting_exact else "+")
            rows.append((Text(g.name + ("" if g.expected else " (unexpected)")),
                         cell(s.name, g.name, "pending", str(g.pending)),
                         Text(waiting, style="yellow" if g.waiting else ""),
                         cell(s.name, g.name, "lag", lag),
                         cell(s.name, g.name, "oldest_pending_s", fmt_age(g.oldest_pending_age_s)),
                         Text(consumers)))
        rows += [(Text(f"{m} (missing)", style="yellow"), "—", "—", "—", "—", "—") for m in s.missing_groups]
        rows = rows or [(Text("—"), "—", "—", "—", "—", "—")]
        for i, row in enumerate(rows):
            head = (s.name, str(s.length) if s.exists else "(none)",
                    cell(s.name, None, "dead_letters", str(s.dead_letters))) if i == 0 else ("", "", "")
            table.add_row(*head, *row, end_section=i == len(rows) - 1)
    return table


def information_line(snapshot: StreamsSnapshot) -> Text | None:
    """11 kap 6 § information in the window: delivered and failed (failed in red)."""
    info = snapshot.information
    if info is None:
        return None
    more = "" if info.exact else "+"
    return Text(f"information (last {fmt_age(info.window_s)}): {info.delivered}{more} delivered, "
                f"{info.failed}{more} failed", style="bold red" if info.failed else "")


def status_view(snapshot: StreamsSnapshot, violations: list[Violation]) -> Group:
    """The table, the information line and, below them, the crossed limits."""
    lines = [Text(f"✗ {v}", style="bold red") for v in violations] or [Text("✓ within limits", style="green")]
    info = information_line(snapshot)
    topo = [topology_table(snapshot)] if snapshot.topology is not None else []
    return Group(status_table(snapshot, violations), *topo, *([info] if info else []), *lines)


def topology_table(snapshot: StreamsSnapshot) -> Table:
    """Each primary (cluster shard) with its replicas and replication offsets."""
    t = snapshot.topology
    table = Table(title=f"Redis ({t.mode}): a write needs {t.min_replicas_ack} replica(s) (IUB_MIN_REPLICAS_ACK)")
    for col in ("primary", "offset", "kommuner", "replica", "state", "replica offset", "behind (bytes)"):
        table.add_column(col, no_wrap=True)
    for s in t.shards:
        short = s.in_sync < t.min_replicas_ack
        style = "bold red" if short else None
        rows = s.replicas or [None]
        for i, r in enumerate(rows):
            table.add_row(s.primary if i == 0 else "", str(s.offset) if i == 0 else "",
                          ", ".join(s.kommuner) if i == 0 else "",
                          r.address if r else "(none)", r.state if r else "", str(r.offset) if r else "",
                          str(r.behind) if r else "", style=style)
    return table


def replication_setting() -> tuple[str, int, list[str]]:
    """(mode, replicas a write needs, kommuner) for the topology part of the status."""
    settings = RuntimeSettings()
    shards = [s for s in served_shards(settings) if s]
    return settings.redis_mode, settings.replicas_to_ack(), shards


def dead_letter_table(entries: list[DeadLetterEntry]) -> Table:
    """Dead letters without their payloads."""
    table = Table(title="Dead letters (newest first)")
    for col in ("dlq id", "stream", "group", "entry id", "deliveries", "error", "dead-lettered at"):
        table.add_column(col, no_wrap=col != "error")
    for e in entries:
        if e.letter is None:
            table.add_row(e.dlq_id, e.dlq_stream, "?", "?", "?", "(not a dead letter)", "?")
            continue
        lt = e.letter
        table.add_row(e.dlq_id, lt.stream, lt.group, lt.entry_id, str(lt.deliveries), lt.error_type,
                      f"{lt.dead_lettered_at:%Y-%m-%d %H:%M:%S%z}")
    return table


# ---------------------------------------------------------------- Redis side


def _console() -> Console:
    """A console; wide when the output goes to a file or pipe (so names are never cut)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def all_streams() -> list[str]:
    """Every contract stream over the kommuner served (IUB_STREAM_SHARDS, IUB_KOMMUNER, the catalogue)."""
    return all_named(ALL_STREAMS, served_shards(RuntimeSettings()))


def _client(url: str | None) -> Redis:
    settings = RuntimeSettings()
    if settings.redis_mode != "single":  # Sentinel or Cluster (IUB_REDIS_MODE): the runtime builds the client
        return connect_redis(settings, max_connections=8, socket_connect_timeout=5, socket_timeout=10)
    return Redis.from_url(url or default_redis_url(), socket_connect_timeout=5, socket_timeout=10)


async def _with_redis(url: str | None, fn):
    """Run ``fn(redis)`` with a fresh client; an unreachable Redis exits with code 3."""
    redis = _client(url)
    try:
        return await fn(redis)
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        typer.echo(f"Redis unreachable: {type(exc).__name__}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    finally:
        await redis.aclose()


async def replay_dead_letter(redis: Redis, entry: DeadLetterEntry, attempts: int = 10) -> str:
    """XADD the original payload back to its stream and XDEL the dead letter, in one MULTI.

    WATCH on the dead-letter stream makes a concurrent replay or drop of the same letter fail
    instead of publishing twice. Returns the new entry id.
    """
    assert entry.letter is not None
    for _ in range(attempts):
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(entry.dlq_stream)
                if not await pipe.xrange(entry.dlq_stream, min=entry.dlq_id, max=entry.dlq_id, count=1):
                    raise LookupError(f"{entry.dlq_id} is no longer in {entry.dlq_stream}")
                pipe.multi()
                pipe.xadd(entry.letter.stream, {DATA_FIELD: entry.letter.payload})
                pipe.xdel(entry.dlq_stream, entry.dlq_id)
                new_id, _deleted = await pipe.execute()
                return new_id.decode() if isinstance(new_id, bytes) else str(new_id)
            except WatchError:
                continue  # another dead letter arrived meanwhile: try again
    raise RuntimeError(f"could not replay {entry.dlq_id}: the dead-letter stream kept changing")


async def _one(redis: Redis, dlq_id: str, streams: list[str] | None) -> DeadLetterEntry:
    found = await find_dead_letter(redis, dlq_id, streams or all_streams())
    if not found:
        typer.echo(f"no dead letter {dlq_id}", err=True)
        raise typer.Exit(1)
    if len(found) > 1:
        typer.echo(f"{dlq_id} is in {', '.join(f.dlq_stream for f in found)}: name one with --stream", err=True)
        raise typer.Exit(1)
    return found[0]


# ---------------------------------------------------------------- commands


MAX_DEAD_LETTERS = typer.Option(0, min=0, help="Limit on dead letters per stream (any dead letter is not OK)")
MAX_INFORMATION_FAILED = typer.Option(0, min=0, help="Limit on failed information in the window")
INFORMATION_WINDOW = typer.Option(INFORMATION_WINDOW_S, min=1, help="Seconds back that failed information counts")


@ops_app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
    max_pending: int | None = typer.Option(None, min=0, help="Limit on pending entries per group"),
    max_lag: int | None = typer.Option(None, min=0, help="Limit on entries not finished per group (from ids)"),
    max_oldest_pending_s: float | None = typer.Option(None, min=0, help="Limit on the oldest pending entry's age"),
    max_dead_letters: int = MAX_DEAD_LETTERS,
    max_information_failed: int = MAX_INFORMATION_FAILED,
    information_window_s: float = INFORMATION_WINDOW,
    streams: list[str] | None = STREAMS,
    redis_url: str | None = REDIS_URL,
) -> None:
    """Every stream: length, groups (pending, waiting, lag, oldest pending, consumers), dead letters
    and the information given or failed in the last hour.

    Exits 1 when a limit is crossed (by default: any dead letter or failed information) and 3
    when Redis cannot be reached.
    """
    limits = Thresholds(max_pending=max_pending, max_lag=max_lag, max_oldest_pending_s=max_oldest_pending_s,
                        max_dead_letters=max_dead_letters, max_information_failed=max_information_failed)
    snapshot = asyncio.run(_with_redis(redis_url, lambda r: read_snapshot(
        r, streams or all_streams(), information_window_s=information_window_s,
        replication=replication_setting())))
    violations = evaluate(snapshot, limits)
    if as_json:
        typer.echo(json.dumps(status_json(snapshot, violations), ensure_ascii=False, indent=2))
    else:
        _console().print(status_view(snapshot, violations))
    if violations:
        raise typer.Exit(EXIT_THRESHOLD)


@ops_app.command("watch")
def watch(
    interval: float = typer.Option(2.0, min=0.05, help="Seconds between refreshes"),
    iterations: int | None = typer.Option(None, min=1, help="Stop after this many refreshes [default: Ctrl-C]"),
    max_pending: int | None = typer.Option(None, min=0),
    max_lag: int | None = typer.Option(None, min=0),
    max_oldest_pending_s: float | None = typer.Option(None, min=0),
    max_dead_letters: int = MAX_DEAD_LETTERS,
    max_information_failed: int = MAX_INFORMATION_FAILED,
    information_window_s: float = INFORMATION_WINDOW,
    streams: list[str] | None = STREAMS,
    redis_url: str | None = REDIS_URL,
) -> None:
    """The status table, refreshed live until Ctrl-C (crossed limits in red)."""
    limits = Thresholds(max_pending=max_pending, max_lag=max_lag, max_oldest_pending_s=max_oldest_pending_s,
                        max_dead_letters=max_dead_letters, max_information_failed=max_information_failed)

    async def loop(redis: Redis) -> None:
        done = 0
        with Live(Text("reading streams…"), console=_console(), auto_refresh=False) as live:
            while iterations is None or done < iterations:
                started = time.monotonic()
                snapshot = await read_snapshot(redis, streams or all_streams(),
                                               information_window_s=information_window_s,
                                               replication=replication_setting())
                live.update(status_view(snapshot, evaluate(snapshot, limits)), refresh=True)
                done += 1
                if iterations is None or done < iterations:
                    await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_with_redis(redis_url, loop))


@dlq_app.command("list")
def dlq_list(
    count: int = typer.Option(20, min=1, help="How many, newest first"),
    as_json: bool = typer.Option(False, "--json"),
    streams: list[str] | None = STREAMS,
    redis_url: str | None = REDIS_URL,
) -> None:
    """The newest dead letters (without payloads)."""
    entries = asyncio.run(_with_redis(redis_url, lambda r: read_dead_letters(r, streams or all_streams(), count)))
    if as_json:
        rows = [{k: v for k, v in masked_entry(e).items() if k not in ("payload", "unparsed")} for e in entries]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        _console().print(dead_letter_table(entries))


@dlq_app.command("show")
def dlq_show(
    dlq_id: str = typer.Argument(..., help="Id of the entry in the dead-letter stream"),
    streams: list[str] | None = STREAMS,
    redis_url: str | None = REDIS_URL,
) -> None:
    """One dead letter with its payload, personal data masked."""
    entry = asyncio.run(_with_redis(redis_url, lambda r: _one(r, dlq_id, streams)))
    typer.echo(json.dumps(masked_entry(entry), ensure_ascii=False, indent=2))


@dlq_app.command("replay")
def dlq_replay(
    dlq_ids: list[str] = typer.Argument(..., help="Ids of entries in the dead-letter streams"),
    force: bool = typer.Option(False, "--force", help="Replay even a letter whose payload was masked"),
    streams: list[str] | None = STREAMS,
    redis_url: str | None = REDIS_URL,
) -> None:
    """Put dead letters back on their stream (after a fix) and remove them from the dlq.

    The entry goes to every consumer group of the stream again; handlers are idempotent.
    """

    async def run(redis: Redis) -> int:
        failed = 0
        for dlq_id in dlq_ids:
            entry = await _one(redis, dlq_id, streams)
            reason = replay_refusal(entry, force)
            if reason:
                typer.echo(f"{dlq_id}: not replayed: {reason}", err=True)
                failed += 1
                continue
            try:
                new_id = await replay_dead_letter(redis, entry)
            except (LookupError, RuntimeError) as exc:
                typer.echo(f"{dlq_id}: not replayed: {exc}", err=True)
                failed += 1
                continue
            typer.echo(f"{dlq_id}: replayed to {entry.letter.stream} as {new_id}")
        return failed

    if asyncio.run(_with_redis(redis_url, run)):
        raise typer.Exit(1)


@dlq_app.command("drop")
def dlq_drop(
    dlq_ids: list[str] = typer.Argument(..., help="Ids of entries in the dead-letter streams"),
    yes: bool = typer.Option(False, "--yes", help="Really delete (nothing is deleted without it)"),
    streams: list[str] | None = STREAMS,
    redis_url: str | None = REDIS_URL,
) -> None:
    """Delete dead letters for good (XDEL); needs --yes."""

    async def run(redis: Redis) -> None:
        entries = [await _one(redis, i, streams) for i in dlq_ids]
        if not yes:
            for e in entries:
                typer.echo(f"would drop {e.dlq_id} from {e.dlq_stream}")
            typer.echo("nothing dropped: add --yes to delete", err=True)
            raise typer.Exit(1)
        for e in entries:
            deleted = await redis.xdel(e.dlq_stream, e.dlq_id)
            typer.echo(f"{e.dlq_id}: {'dropped' if deleted else 'already gone'} from {e.dlq_stream}")

    asyncio.run(_with_redis(redis_url, run))
