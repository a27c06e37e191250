"""`iub ops`: thresholds and masking (pure), stream stats and the CLI against a real Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import redis
import typer
from prometheus_client import generate_latest
from redis.asyncio import Redis
from typer.testing import CliRunner

from iub_cli.ops_cmd import (
    EXIT_THRESHOLD,
    EXIT_UNREACHABLE,
    MASK,
    fmt_age,
    mask_payload,
    ops_app,
    replay_dead_letter,
    replay_refusal,
)
from iub_contracts import streams
from iub_contracts.messages import DeadLetter
from iub_runtime import metrics
from iub_runtime.processes import free_port
from iub_runtime.stream_stats import (
    ConsumerStats,
    DeadLetterEntry,
    GroupStats,
    InformationStats,
    StreamsSnapshot,
    StreamStats,
    Thresholds,
    count_after,
    evaluate,
    find_dead_letter,
    id_age_s,
    read_snapshot,
)

PNR = "199001011234"
NOW = dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC)

cli = typer.Typer()
cli.add_typer(ops_app, name="ops")
runner = CliRunner()


def ops(url: str, *args: str):
    """Run `iub ops …` against a Redis."""
    return runner.invoke(cli, ["ops", *args, "--redis-url", url])


# ---------------------------------------------------------------- thresholds (pure)


def snapshot(pending=0, lag: int | None = 0, oldest: float | None = None, dead=0, failed=0) -> StreamsSnapshot:
    """One stream with one group, with the given numbers."""
    group = GroupStats(name="eligibility", expected=True, pending=pending, lag=lag, lag_exact=True,
                       last_delivered_id="0-0", oldest_pending_age_s=oldest,
                       consumers=[ConsumerStats(name="host-1", pending=pending, idle_s=1.0)])
    stream = StreamStats(name=streams.REQUESTS, exists=True, length=10, groups=[group],
                         dead_letter_stream=streams.dead_letter_stream(streams.REQUESTS), dead_letters=dead)
    return StreamsSnapshot(taken_at=NOW, redis_version="7.0", streams=[stream],
                           information=InformationStats(window_s=3600, delivered=3, failed=failed))


THRESHOLD_CASES = [
    ("no limits set means nothing is crossed", snapshot(pending=99, lag=99, oldest=999, dead=9),
     Thresholds.unchecked(), []),
    ("by default any dead letter is crossed", snapshot(dead=1), Thresholds(), ["dead_letters"]),
    ("by default any failed information is crossed", snapshot(failed=1), Thresholds(), ["information_failed"]),
    ("delivered information crosses nothing", snapshot(failed=0), Thresholds(), []),
    ("a value equal to its limit is within it", snapshot(pending=5), Thresholds(max_pending=5), []),
    ("pending above its limit is crossed", snapshot(pending=6), Thresholds(max_pending=5), ["pending"]),
    ("lag above its limit is crossed", snapshot(lag=101), Thresholds(max_lag=100), ["lag"]),
    ("an unknown lag never crosses a limit", snapshot(lag=None), Thresholds(max_lag=0), []),
    ("an old pending entry is crossed", snapshot(oldest=61.0), Thresholds(max_oldest_pending_s=60),
     ["oldest_pending_s"]),
    ("no pending entry has no age to cross", snapshot(oldest=None), Thresholds(max_oldest_pending_s=0), []),
    ("any dead letter crosses a zero limit", snapshot(dead=1), Thresholds(max_dead_letters=0), ["dead_letters"]),
    ("every crossed limit is reported", snapshot(pending=2, lag=2, oldest=2, dead=2),
     Thresholds(max_pending=1, max_lag=1, max_oldest_pending_s=1, max_dead_letters=1),
     ["dead_letters", "pending", "lag", "oldest_pending_s"]),
]


@pytest.mark.parametrize(("case", "snap", "limits", "expected"), THRESHOLD_CASES, ids=[c[0] for c in THRESHOLD_CASES])
def test_thresholds_report_exactly_the_limits_crossed(case, snap, limits, expected) -> None:
    assert [v.metric for v in evaluate(snap, limits)] == expected


def test_a_violation_names_stream_group_value_and_limit() -> None:
    (v,) = evaluate(snapshot(pending=7), Thresholds(max_pending=5))
    assert str(v) == f"{streams.REQUESTS}:eligibility pending 7 > 5"


# ---------------------------------------------------------------- masking and formatting (pure)

MASK_CASES = [
    ("a personnummer field is masked", {"facts": {"personnummer": PNR}}, {"facts": {"personnummer": MASK}}),
    ("a birth date field is masked", {"facts": {"birth_date": "1990-01-01"}}, {"facts": {"birth_date": MASK}}),
    ("a callback url is masked", {"delivery": {"callback_url": "https://x/y?u=1"}},
     {"delivery": {"callback_url": MASK}}),
    ("an absent identity stays absent", {"facts": {"personnummer": None}}, {"facts": {"personnummer": None}}),
    ("a personnummer inside free text is redacted", {"note": f"pnr {PNR}"}, {"note": "pnr [personnummer]"}),
    ("e-mail and phone in lists are redacted", {"x": ["a@b.se", "070-123 45 67"]}, {"x": ["[e-post]", "[telefon]"]}),
    ("other facts are kept", {"stated_age": 17, "kommun": "sala"}, {"stated_age": 17, "kommun": "sala"}),
]


@pytest.mark.parametrize(("case", "payload", "expected"), MASK_CASES, ids=[c[0] for c in MASK_CASES])
def test_dead_letter_payloads_are_masked_for_operators(case, payload, expected) -> None:
    assert mask_payload(json.dumps(payload)) == expected


def test_a_payload_that_is_not_json_is_redacted_as_text() -> None:
    assert mask_payload(f"broken {{ {PNR}") == "broken { [personnummer]"


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (4.25, "4.2s"), (185, "3m 05s"), (7380, "2h 03m"),
                                               (93600, "1d 02h")])
def test_ages_read_as_people_say_them(seconds, text) -> None:
    assert fmt_age(seconds) == text


def letter(entry_id="1-0", payload='{"a": 1}', stream=streams.REQUESTS) -> DeadLetterEntry:
    """A dlq entry of the requests stream."""
    return DeadLetterEntry(
        dlq_stream=streams.dead_letter_stream(streams.REQUESTS), dlq_id="5-0",
        letter=DeadLetter(stream=stream, group="eligibility", entry_id=entry_id, deliveries=6,
                          error_type="ValueError", dead_lettered_at=NOW, payload=payload),
    )


REFUSAL_CASES = [
    ("a failed delivery may be replayed", letter(), False, False),
    ("a refusal record with a masked payload is not replayed", letter("request:x", '{"p": "[personnummer]"}'),
     False, True),
    ("a masked payload is replayed with force", letter("request:x", '{"p": "[personnummer]"}'), True, False),
    ("a letter naming another stream is never replayed", letter(stream=streams.DECISIONS), True, True),
    ("an entry that is not a dead letter is never replayed",
     DeadLetterEntry(dlq_stream="x.dlq", dlq_id="1-0", raw="junk"), True, True),
]


@pytest.mark.parametrize(("case", "entry", "force", "refused"), REFUSAL_CASES, ids=[c[0] for c in REFUSAL_CASES])
def test_replay_refuses_what_would_put_wrong_data_on_a_stream(case, entry, force, refused) -> None:
    assert (replay_refusal(entry, force) is not None) is refused


def test_the_age_of_an_entry_comes_from_its_id() -> None:
    assert id_age_s("1000-0", now_ms=4500) == 3.5
    assert id_age_s("9000-0", now_ms=4500) == 0.0


# ---------------------------------------------------------------- against a real Redis


def seed(url: str, *, entries: int = 3, delivered: int = 2, dead: list[str] | None = None) -> list[str]:
    """Contract groups, entries on the requests stream (some delivered), dead letters; returns dlq ids."""
    client = redis.Redis.from_url(url)
    for stream, groups in streams.CONSUMERS.items():
        for group in groups:
            client.xgroup_create(stream, group, id="0", mkstream=True)
    for i in range(entries):
        client.xadd(streams.REQUESTS, {"__data__": json.dumps({"i": i})})
    if delivered:
        client.xreadgroup(streams.GROUP_ELIGIBILITY, "host-1", {streams.REQUESTS: ">"}, count=delivered)
    ids = []
    for payload in dead or []:
        dl = DeadLetter(stream=streams.REQUESTS, group=streams.GROUP_ELIGIBILITY, entry_id="1-0", deliveries=6,
                        error_type="ValueError", dead_lettered_at=NOW, payload=payload)
        ids.append(client.xadd(streams.dead_letter_stream(streams.REQUESTS), {"__data__": dl.model_dump_json()})
                   .decode())
    client.close()
    return ids


async def test_stream_stats_show_length_pending_lag_consumers_and_dead_letters(clean_redis: str) -> None:
    seed(clean_redis, entries=5, delivered=2, dead=['{"x": 1}'])
    r = Redis.from_url(clean_redis)
    try:
        snap = await read_snapshot(r)
    finally:
        await r.aclose()
    req = snap.streams[0]
    (g,) = req.groups
    assert (req.name, req.length, req.dead_letters, req.missing_groups) == (streams.REQUESTS, 5, 1, [])
    assert (g.pending, g.undelivered, g.lag, g.lag_exact) == (2, 3, 5, True)  # lag: undelivered + pending
    assert [c.name for c in g.consumers] == ["host-1"]
    assert g.oldest_pending_age_s is not None and g.oldest_pending_deliveries == 1
    assert [s.name for s in snap.streams] == list(streams.ALL_STREAMS)


async def test_the_lag_is_counted_when_redis_cannot_tell_it(clean_redis: str) -> None:
    seed(clean_redis, entries=5, delivered=1)
    r = Redis.from_url(clean_redis)
    try:
        ids = [i for i, _ in await r.xrange(streams.REQUESTS)]
        await r.xdel(streams.REQUESTS, ids[3])  # a tombstone after the group's position: XINFO lag is nil
        assert (await r.xinfo_groups(streams.REQUESTS))[0]["lag"] is None
        (g,) = (await read_snapshot(r, [streams.REQUESTS])).streams[0].groups
        assert (g.undelivered, g.lag, g.lag_exact) == (3, 4, True)
        assert await count_after(r, streams.REQUESTS, "0-0", cap=2) == (2, False)
    finally:
        await r.aclose()


async def test_a_stream_that_does_not_exist_reads_as_empty_with_missing_groups(clean_redis: str) -> None:
    r = Redis.from_url(clean_redis)
    try:
        (s,) = (await read_snapshot(r, [streams.DECISIONS])).streams
    finally:
        await r.aclose()
    assert (s.exists, s.length, s.groups, s.missing_groups) == (False, 0, [], ["audit", "notify", "intake"])


def test_ops_status_prints_a_table_of_every_stream(clean_redis: str) -> None:
    seed(clean_redis)
    result = ops(clean_redis, "status")
    assert result.exit_code == 0, result.output
    for name in streams.ALL_STREAMS:
        assert name in result.output
    assert "within limits" in result.output


def test_ops_status_json_exits_1_when_a_threshold_is_crossed(clean_redis: str) -> None:
    seed(clean_redis, entries=3, delivered=2, dead=['{"x": 1}'])
    result = ops(clean_redis, "status", "--json", "--max-pending", "1", "--max-dead-letters", "0", "--max-lag", "5")
    assert result.exit_code == EXIT_THRESHOLD
    data = json.loads(result.output)
    assert data["ok"] is False
    assert sorted(v["metric"] for v in data["violations"]) == ["dead_letters", "pending"]


def test_ops_status_is_not_ok_with_a_dead_letter_and_no_options(clean_redis: str) -> None:
    seed(clean_redis, dead=['{"x": 1}'])
    result = ops(clean_redis, "status")
    assert result.exit_code == EXIT_THRESHOLD, result.output
    assert "within limits" not in result.output
    assert "dead_letters 1 > 0" in result.output


def information(url: str, *statuses: str) -> None:
    """Information outcomes on the information stream (only the status field matters here)."""
    client = redis.Redis.from_url(url)
    for status in statuses:
        client.xadd(streams.INFORMATION, {"__data__": json.dumps({"status": status, "request_id": "x"})})
    client.close()


def test_ops_status_is_not_ok_while_information_is_failing(clean_redis: str) -> None:
    seed(clean_redis)
    information(clean_redis, "delivered", "delivered", "failed")
    result = ops(clean_redis, "status", "--json")
    assert result.exit_code == EXIT_THRESHOLD, result.output
    data = json.loads(result.output)
    assert data["information"]["failed"] == 1 and data["information"]["delivered"] == 2
    assert [v["metric"] for v in data["violations"]] == ["information_failed"]
    table = ops(clean_redis, "status")
    assert "1 failed" in table.output and table.exit_code == EXIT_THRESHOLD


def test_failed_information_older_than_the_window_no_longer_counts(clean_redis: str) -> None:
    seed(clean_redis)
    client = redis.Redis.from_url(clean_redis)
    client.xadd(streams.INFORMATION, {"__data__": json.dumps({"status": "failed"})}, id="1000-0")
    client.close()
    assert ops(clean_redis, "status", "--information-window-s", "60").exit_code == 0


async def test_waiting_counts_the_entries_that_wait_for_a_retry_by_time(clean_redis: str) -> None:
    from iub_runtime.retry import TRANSIENT, RetryState, retry_key

    seed(clean_redis, entries=5, delivered=3)
    r = Redis.from_url(clean_redis)
    try:
        # two of the three pending entries failed on a database error: they wait for a retry, not dead
        first_two = [i.decode() for i, _ in await r.xrange(streams.REQUESTS, count=2)]
        state = RetryState(1, 1, 2, "OperationalError", TRANSIENT).dumps()
        await r.hset(retry_key(streams.REQUESTS, streams.GROUP_ELIGIBILITY), mapping=dict.fromkeys(first_two, state))
        (g,) = (await read_snapshot(r, [streams.REQUESTS])).streams[0].groups
    finally:
        await r.aclose()
    assert (g.pending, g.waiting, g.waiting_exact) == (3, 2, True)


async def test_dead_consumers_with_nothing_pending_are_forgotten_and_others_kept(clean_redis: str) -> None:
    import os
    import socket
    import subprocess
    import sys

    from iub_runtime.streams import ALIVE_KEY, forget_dead_consumers, mark_alive

    seed(clean_redis, entries=3, delivered=0)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)  # a process of this host that has ended
    host = socket.gethostname()
    r = Redis.from_url(clean_redis)
    try:
        await mark_alive(r, ttl_s=180)  # this process' heartbeat, as its housekeeping writes it
        await r.set(ALIVE_KEY.format(base="pod-b-12"), "1", ex=180)  # a live process on another host
        for name, count in ((f"{host}-{dead_pid}", 0), (f"{host}-{dead_pid}-claimer", 0),
                            (f"{host}-{os.getpid()}", 0), ("pod-a-7", 1), ("pod-b-12-claimer", 0)):
            await r.xgroup_createconsumer(streams.REQUESTS, streams.GROUP_ELIGIBILITY, name)
            if count:
                await r.xreadgroup(streams.GROUP_ELIGIBILITY, name, {streams.REQUESTS: ">"}, count=count)

        def names():
            return r.xinfo_consumers(streams.REQUESTS, streams.GROUP_ELIGIBILITY)

        assert await forget_dead_consumers(r) == 2  # the dead process' two names, at once, not after an hour
        kept = {c["name"].decode() for c in await names()}
        assert kept == {f"{host}-{os.getpid()}", "pod-a-7", "pod-b-12-claimer"}  # alive, or something pending
        # pod-a (no heartbeat: gone) loses its name as soon as its entry is done
        ((entry_id, _),) = await r.xrange(streams.REQUESTS, count=1)
        await r.xack(streams.REQUESTS, streams.GROUP_ELIGIBILITY, entry_id)
        assert await forget_dead_consumers(r) == 1
        assert "pod-a-7" not in {c["name"].decode() for c in await names()}
    finally:
        await r.aclose()


async def test_a_consumer_given_an_entry_meanwhile_is_never_deleted(clean_redis: str) -> None:
    from iub_runtime.streams import delete_consumer_if_empty

    seed(clean_redis, entries=1, delivered=1)  # host-1 holds the entry
    r = Redis.from_url(clean_redis)
    try:
        assert await delete_consumer_if_empty(r, streams.REQUESTS, streams.GROUP_ELIGIBILITY, "host-1") is False
        (g,) = (await read_snapshot(r, [streams.REQUESTS])).streams[0].groups
        assert g.pending == 1 and [c.name for c in g.consumers] == ["host-1"]
    finally:
        await r.aclose()


def test_the_lag_comes_from_ids_and_is_right_after_redis_reloads_its_aof(tmp_path) -> None:
    """Issue 14 (6): a drained system has lag 0 after an AOF reload, whatever XINFO says."""
    from iub_runtime.processes import RedisServer

    server = RedisServer(data_dir=tmp_path / "redis").start()  # appendonly yes, appendfsync always
    url = server.url
    try:
        client = redis.Redis.from_url(url)
        for stream, groups in streams.CONSUMERS.items():
            for group in groups:
                client.xgroup_create(stream, group, id="0", mkstream=True)
        for i in range(300):
            client.xadd(streams.REQUESTS, {"__data__": json.dumps({"i": i})})
        client.xtrim(streams.REQUESTS, maxlen=40, approximate=False)
        while batch := client.xreadgroup(streams.GROUP_ELIGIBILITY, "host-1", {streams.REQUESTS: ">"}, count=37):
            client.xack(streams.REQUESTS, streams.GROUP_ELIGIBILITY, *[i for i, _ in batch[0][1]])
        # what an AOF reload leaves in 7.0: an entries-read counter that no longer matches the stream
        client.execute_command("XGROUP", "SETID", streams.REQUESTS, streams.GROUP_ELIGIBILITY, "$",
                               "ENTRIESREAD", 23)
        client.close()
        port = server.port
        server.stop()
        server = RedisServer(data_dir=tmp_path / "redis", port=port).start()  # reload from the AOF
        client = redis.Redis.from_url(url)
        (xinfo,) = client.xinfo_groups(streams.REQUESTS)
        client.close()
        print(f"after the reload XINFO says lag {xinfo['lag']}; computed from ids:", end=" ")
        assert xinfo["lag"] != 0  # the number operators were misled by
        result = ops(url, "status", "--json", "--max-lag", "0", "--stream", streams.REQUESTS)
        data = json.loads(result.output)
        (g,) = data["streams"][0]["groups"]
        print(g["lag"])
        assert (g["lag"], g["undelivered"], g["pending"]) == (0, 0, 0)
        assert result.exit_code == 0, result.output
        # and a real backlog is still seen after the reload
        client = redis.Redis.from_url(url)
        for i in range(7):
            client.xadd(streams.REQUESTS, {"__data__": json.dumps({"i": i})})
        client.xreadgroup(streams.GROUP_ELIGIBILITY, "host-1", {streams.REQUESTS: ">"}, count=2)
        client.close()
        data = json.loads(ops(url, "status", "--json", "--stream", streams.REQUESTS).output)
        (g,) = data["streams"][0]["groups"]
        assert (g["lag"], g["undelivered"], g["pending"]) == (7, 5, 2)
    finally:
        server.stop()


def test_ops_status_exits_3_when_redis_cannot_be_reached() -> None:
    result = ops(f"redis://127.0.0.1:{free_port()}/0", "status")
    assert result.exit_code == EXIT_UNREACHABLE


def test_ops_watch_refreshes_the_given_number_of_times(clean_redis: str) -> None:
    seed(clean_redis)
    result = ops(clean_redis, "watch", "--iterations", "2", "--interval", "0.05")
    assert result.exit_code == 0, result.output
    assert streams.INFORMATION in result.output


def test_dlq_list_names_dead_letters_without_their_payloads(clean_redis: str) -> None:
    seed(clean_redis, dead=[json.dumps({"facts": {"personnummer": PNR}})])
    result = ops(clean_redis, "dlq", "list", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert (row["stream"], row["error_type"]) == (streams.REQUESTS, "ValueError")
    assert PNR not in result.output


def test_dlq_show_masks_personal_data(clean_redis: str) -> None:
    (dlq_id,) = seed(clean_redis, dead=[json.dumps({"facts": {"personnummer": PNR, "birth_date": "1990-01-01"},
                                                    "note": "ring 070-123 45 67"})])
    result = ops(clean_redis, "dlq", "show", dlq_id)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["payload"] == {"facts": {"personnummer": MASK, "birth_date": MASK}, "note": "ring [telefon]"}
    assert PNR not in result.output and "1990-01-01" not in result.output


def test_dlq_show_of_an_unknown_id_exits_1(clean_redis: str) -> None:
    seed(clean_redis)
    assert ops(clean_redis, "dlq", "show", "1-1").exit_code == 1


def test_dlq_replay_puts_the_original_payload_back_and_removes_the_letter(clean_redis: str) -> None:
    payload = json.dumps({"facts": {"personnummer": PNR}})
    (dlq_id,) = seed(clean_redis, entries=0, delivered=0, dead=[payload])
    result = ops(clean_redis, "dlq", "replay", dlq_id)
    assert result.exit_code == 0, result.output
    client = redis.Redis.from_url(clean_redis)
    try:
        ((_, fields),) = client.xrange(streams.REQUESTS)
        assert fields[b"__data__"].decode() == payload
        assert client.xlen(streams.dead_letter_stream(streams.REQUESTS)) == 0
    finally:
        client.close()


async def test_two_replays_of_one_letter_publish_it_once(clean_redis: str) -> None:
    (dlq_id,) = seed(clean_redis, entries=0, delivered=0, dead=['{"x": 1}'])
    r = Redis.from_url(clean_redis)
    try:
        (entry,) = await find_dead_letter(r, dlq_id)
        results = await asyncio.gather(replay_dead_letter(r, entry), replay_dead_letter(r, entry),
                                       return_exceptions=True)
        assert sorted(type(x).__name__ for x in results) == ["LookupError", "str"]
        assert await r.xlen(streams.REQUESTS) == 1
    finally:
        await r.aclose()


def test_dlq_drop_needs_yes_and_then_deletes(clean_redis: str) -> None:
    (dlq_id,) = seed(clean_redis, dead=['{"x": 1}'])
    dlq = streams.dead_letter_stream(streams.REQUESTS)
    client = redis.Redis.from_url(clean_redis)
    try:
        assert ops(clean_redis, "dlq", "drop", dlq_id).exit_code == 1
        assert client.xlen(dlq) == 1
        assert ops(clean_redis, "dlq", "drop", dlq_id, "--yes").exit_code == 0
        assert client.xlen(dlq) == 0
    finally:
        client.close()


# ---------------------------------------------------------------- metrics


async def test_the_stream_gauges_follow_the_streams(clean_redis: str) -> None:
    seed(clean_redis, entries=4, delivered=3, dead=['{"x": 1}'])
    r = Redis.from_url(clean_redis)
    try:
        await metrics.refresh_stream_gauges(r)
    finally:
        await r.aclose()
    labels = {"stream": streams.REQUESTS, "group": streams.GROUP_ELIGIBILITY}
    assert metrics.PENDING.labels(**labels)._value.get() == 3
    assert metrics.LAG.labels(**labels)._value.get() == 1 + 3
    assert metrics.DEAD_LETTER_BACKLOG.labels(stream=streams.REQUESTS)._value.get() == 1


def test_gauge_labels_are_only_contract_streams_and_groups() -> None:
    snap = snapshot(pending=1)
    odd = snap.streams[0].model_copy(update={"name": f"person-{PNR}"})
    odd_group = snap.streams[0].groups[0].model_copy(update={"name": PNR})
    snap.streams.append(odd)
    snap.streams[0].groups.append(odd_group)
    metrics.apply_stream_snapshot(snap)
    assert PNR not in generate_latest().decode()


async def test_failed_information_is_counted_newest_first_within_the_cap(clean_redis: str) -> None:
    from iub_runtime.stream_stats import read_information, server_now_ms

    information(clean_redis, *(["delivered"] * 30), "failed")
    r = Redis.from_url(clean_redis)
    try:
        info = await read_information(r, await server_now_ms(r), cap=5)
    finally:
        await r.aclose()
    assert (info.failed, info.delivered, info.exact) == (1, 4, False)  # the newest five, the failure among them


async def test_liveness_and_readiness_are_separate(clean_redis: str) -> None:
    import httpx

    from iub_runtime.health import serve_health

    class Rt:
        redis = None  # Redis not connected (or down): live, but not ready

    port = free_port()
    server = await serve_health(Rt(), port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/health/live")).status_code == 200
            assert (await http.get("/health/ready")).status_code == 503
            assert (await http.get("/health")).status_code == 503
            Rt.redis = Redis.from_url(clean_redis)
            seed(clean_redis, entries=0, delivered=0)
            assert (await http.get("/health/ready")).json()["ok"] is True
            assert "iub_stream_lag" in (await http.get("/metrics")).text
            await Rt.redis.aclose()
    finally:
        server.close()
