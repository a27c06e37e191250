"""Canary (issue 13.1): personnummer inside callback URLs, call references and the language never travel.

For an insats of each documentation level (14:3, 14:5, 14:4) a distinct canary personnummer is
put in the callback URL (app), in the call reference (Kundcenter) and in the language tag. The
language is refused (a fixed list of BCP 47 tags); the targets stay at intake behind an opaque
handle and are deleted once the information is given. Then the streams (with ``.dlq``), notify's
ledger, every Redis key and value, the audit store's files and the service logs are searched; the
streams are trimmed as the retention would, the AOF rewritten (BGREWRITEAOF), and the AOF searched.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import redis

from iub_contracts import streams
from iub_runtime.processes import wait_until
from tests.e2e.conftest import start_system, stop_system
from tests.e2e.faults import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

LEVELS = {
    "14:3": {"kommun": "ostersund", "insats_id": "akutboendet",
             "facts": {"personnummer": "19811218-9876", "folkbokford_i_kommunen": True}},
    "14:5": {"kommun": "jamtland-lansverksamheter", "insats_id": "cmv-stodsamtal-valdsutsatta",
             "facts": {"stated_age": 34}},
    "14:4": {"kommun": "mellerud", "insats_id": "radgivningssamtal", "facts": {"bosatt_eller_vistas_i_kommunen": True}},
}
PLACES_SENT = ("callback_url", "call_ref", "language")


def canary(level_i: int, place_i: int) -> str:
    """A distinct personnummer-shaped canary per level and field."""
    return f"19760{level_i}1{place_i}-37{level_i}{place_i}"


def needles(value: str) -> list[bytes]:
    """Every spelling of a canary: 12 or 10 digits, with or without the '-'."""
    twelve = value.replace("-", "")
    return [s.encode() for s in (value, twelve, value[2:], twelve[2:])]


def redis_dump(r: redis.Redis) -> dict[str, bytes]:
    """Every key with its value(s), by type (streams included), as bytes to search."""
    out: dict[str, bytes] = {}
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        if kind == b"string":
            v = r.get(key) or b""
        elif kind == b"hash":
            v = b" ".join(k + b"=" + x for k, x in r.hgetall(key).items())
        elif kind == b"list":
            v = b" ".join(r.lrange(key, 0, -1))
        elif kind == b"set":
            v = b" ".join(r.smembers(key))
        elif kind == b"zset":
            v = b" ".join(m for m, _ in r.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            v = b" ".join(b" ".join(k + b"=" + x for k, x in f.items()) for _, f in r.xrange(key))
        else:
            v = b""
        out[key.decode(errors="replace")] = key + b" " + v
    return out


def files_bytes(paths) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.is_file())


def test_no_target_and_no_language_tag_travels(tmp_path):
    ok = Receiver("ok").start()
    running = start_system({"IUB_DEV_WEBHOOK_SECRET": "e2e-canary-webhook-secret-0123",
                            "IUB_TELEPHONY_REPLY_URL": ok.url + "/reply"})
    try:
        sent: dict[str, tuple[str, str]] = {}  # canary → (level, field)
        accepted: list[str] = []
        refused = 0
        with httpx.Client(base_url=running.base_url, timeout=10) as c:
            for li, (level, body) in enumerate(LEVELS.items(), start=1):
                cb, ref, lang = canary(li, 1), canary(li, 2), canary(li, 3)
                sent.update({cb: (level, "callback_url"), ref: (level, "call_ref"), lang: (level, "language")})
                r = c.post("/v1/requests", json={**body, "channel": "app", "delivery": {
                    "kind": "app_callback", "callback_url": f"{ok.url}/cb/{cb}?pnr={cb.replace('-', '')}"}})
                assert r.status_code == 202, r.text
                accepted.append(r.json()["request_id"])
                r = c.post("/v1/requests", json={**body, "channel": "telephony",
                                                  "delivery": {"kind": "telephony", "call_ref": f"samtal {ref}"}})
                assert r.status_code == 202, r.text
                accepted.append(r.json()["request_id"])
                for tag in (lang, f"sv-{lang}", "sv-19760210-3736"):
                    r = c.post("/v1/requests", json={**body, "channel": "app", "language": tag})
                    assert r.status_code == 422 and lang not in r.text and "19760210" not in r.text
                    refused += 1
            wait_until(lambda: all(c.get(f"/v1/requests/{rid}").json()["status"] == "informed" for rid in accepted),
                       60, interval=0.3, what="every canary request informed")
        wait_until(lambda: len(ok.got) >= len(accepted), 30, what="every callback and reply received")
        client = redis.Redis.from_url(running.redis.url)
        time.sleep(1.0)  # the last acks and deletes

        all_streams = (*streams.ALL_STREAMS, *streams.RETIRED_STREAMS, *streams.ALL_DEAD_LETTER_STREAMS)
        dump = redis_dump(client)
        places: dict[str, bytes] = {
            "streams (incl. .dlq)": b" ".join(v for k, v in dump.items() if k in all_streams),
            "notify ledger": b" ".join(v for k, v in dump.items() if k.startswith("iub:notify:")),
            "redis keys and values": b" ".join(dump.values()),
            "audit store files": files_bytes(running.var_dir.glob("audit.sqlite3*")),
            "service logs": files_bytes((running.var_dir / "logs").glob("*.log")),
        }
        aof_dir = Path(running.redis.data_dir) / "appendonlydir"
        # the search can find them: intake kept the targets (SET under the handle) until delivery, so
        # the AOF holds them until it is rewritten
        before = files_bytes(aof_dir.glob("*"))
        kept = [v for v, (_lvl, field) in sent.items() if field != "language"]
        assert all(any(n in before for n in needles(v)) for v in kept)
        # the retention passes: every stream trimmed, then the AOF rewritten
        for s in all_streams:
            client.xtrim(s, minid=str(int(time.time() * 1000) + 1))
        client.bgrewriteaof()
        wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
                   and client.info("persistence")["aof_rewrite_scheduled"] == 0, 30, what="AOF rewritten")
        places["AOF after trimming and rewrite"] = files_bytes(aof_dir.glob("*"))
        places["redis after trimming"] = b" ".join(redis_dump(client).values())

        hits = {place: sorted({f"{sent[v][0]} {sent[v][1]}" for v in sent if any(n in blob for n in needles(v))})
                for place, blob in places.items()}
        print(f"\ncanary: {len(sent)} values (3 levels × {len(PLACES_SENT)} fields; {refused} language tags "
              f"refused) × {len(places)} places searched = {len(sent) * len(places)} searches; hits by place: "
              + "; ".join(f"{p}: {len(h)}" for p, h in hits.items()))
        assert all(blob for blob in places.values())  # every place was really read
        assert hits == {p: [] for p in places}
        client.close()
    finally:
        stop_system(running)
        ok.stop()
