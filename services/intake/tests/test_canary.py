"""A canary personnummer sent every way it can be sent: 0 hits in the process's logs and error bodies.

Intake runs as a real process (``python -m iub_intake`` under uvicorn) with its stdout and stderr
captured to a file, so every log line of structlog, uvicorn, FastStream and redis is searched.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import httpx
import pytest
import redis as redis_sync
from intake_support import CANARY, CATALOG_DIR, KEYS, bearer, clients_json, form_event, signed

from iub_contracts import streams
from iub_runtime.pii import PNR_MASK
from iub_runtime.processes import ServiceProcess, free_port, service_argv, wait_until

BAD_CANARY = "19121212-1213"  # fails the Luhn check: refused, and must not be echoed either
# every spelling of both numbers: 12 or 10 digits, with '-', '+' or nothing
NEEDLES = re.compile(r"(19)?121212[-+]?121[23]")

ADVISORY = {"kommun": "sala", "insats_id": "budgetradgivning"}
INDIVIDUAL = {"kommun": "sala", "insats_id": "skuldradgivning-och-skuldsanering"}


def attempts() -> list[tuple[str, str, dict, bytes]]:
    """(description, path, headers, body) of every way the canary is sent."""
    app = {**bearer("app-sala"), "content-type": "application/json"}

    def j(d) -> bytes:
        return json.dumps(d).encode()

    out = [
        ("valid, advisory insats (dropped)", "/v1/requests", app, j({**ADVISORY, "facts": {"personnummer": CANARY}})),
        ("valid, individual insats (kept on the stream)", "/v1/requests", app,
         j({**INDIVIDUAL, "facts": {"personnummer": CANARY}})),
        ("Luhn failure", "/v1/requests", app, j({**INDIVIDUAL, "facts": {"personnummer": BAD_CANARY}})),
        ("too long for the field", "/v1/requests", app, j({**INDIVIDUAL, "facts": {"personnummer": CANARY * 2}})),
        ("as a number", "/v1/requests", app, j({**INDIVIDUAL, "facts": {"personnummer": 191212121212}})),
        ("as the language", "/v1/requests", app, j({**ADVISORY, "language": CANARY})),
        ("as a fact's name", "/v1/requests", app, j({**ADVISORY, "facts": {"other_facts": {CANARY: 1}}})),
        ("as an unknown field", "/v1/requests", app, j({**ADVISORY, CANARY: CANARY})),
        ("as the kommun", "/v1/requests", app, j({**ADVISORY, "kommun": CANARY})),
        ("as the insats", "/v1/requests", app, j({**ADVISORY, "insats_id": CANARY})),
        ("as a guardian's label", "/v1/requests", app,
         j({**ADVISORY, "facts": {"guardians": [{"label": CANARY, "consent": "yes"}]}})),
        ("as a callback URL", "/v1/requests", app,
         j({**ADVISORY, "delivery": {"kind": "app_callback", "callback_url": f"ftp://{CANARY}"}})),
        ("in malformed JSON", "/v1/requests", app, f'{{"kommun": "{CANARY}", '.encode()),
        ("in an oversized body", "/v1/requests", app, j({**ADVISORY, "language": CANARY * 10_000})),
        ("as the Idempotency-Key", "/v1/requests", {**app, "Idempotency-Key": CANARY},
         j({**ADVISORY, "facts": {"stated_age": 30}})),
        ("as the API key", "/v1/requests", {"Authorization": f"Bearer {CANARY}", "content-type": "application/json"},
         j(ADVISORY)),
        ("in a preview", "/v1/eligibility/preview", app, j({**ADVISORY, "facts": {"personnummer": CANARY}})),
        ("in an invalid preview", "/v1/eligibility/preview", app,
         j({**ADVISORY, "facts": {"personnummer": BAD_CANARY}})),
        ("in a catalogue path", f"/v1/kommuner/{CANARY}/insatser", bearer("app-all"), b""),
        ("in a request id path", f"/v1/requests/{CANARY}", bearer("app-sala"), b""),
    ]
    tel = form_event(personnummer=CANARY, stated_age=40)
    out.append(("in a telephony form", "/v1/telephony/events", signed("phone-sala", tel), tel))
    bad_tel = form_event(personnummer=BAD_CANARY)
    out.append(("invalid, in a telephony form", "/v1/telephony/events", signed("phone-sala", bad_tel), bad_tel))
    ref = json.dumps({"type": "call.started", "call_ref": "x", "agent_id": CANARY * 9,
                      "occurred_at": "2025-09-05T10:00:00+00:00"}).encode()
    out.append(("as an overlong agent id", "/v1/telephony/events", signed("phone-sala", ref), ref))
    out.append(("as the webhook-id, unsigned", "/v1/telephony/events",
                {**bearer("phone-sala"), "webhook-id": CANARY, "content-type": "application/json"}, tel))
    return out


@pytest.fixture
def intake_process(clean_redis):
    """A real intake process on the private Redis; yields its base URL and log path."""
    log_path = Path(tempfile.mkdtemp(prefix="iub-intake-canary-")) / "intake.log"
    port = free_port()
    env = {**os.environ, "REDIS_URL": clean_redis, "IUB_PORT": str(port), "IUB_CATALOG_DIR": str(CATALOG_DIR),
           "IUB_CLIENTS_JSON": clients_json(), "IUB_LOG_JSON": "true", "IUB_LOG_LEVEL": "DEBUG"}
    env.pop("IUB_AUTH_DISABLED", None)
    proc = ServiceProcess(name="intake", argv=service_argv("intake"), env=env, log_path=log_path).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200, 30, what="intake /health")
        yield base, log_path
    finally:
        proc.stop()


def test_the_canary_personnummer_is_in_no_log_line_and_no_error_body(intake_process, clean_redis):
    base, log_path = intake_process
    bodies, statuses = [], {}
    with httpx.Client(base_url=base, timeout=10) as client:
        for what, path, headers, body in attempts():
            method = "POST" if body else "GET"
            resp = client.request(method, path, headers=headers, content=body or None)
            statuses[what] = resp.status_code
            if resp.status_code >= 400:
                bodies.append(resp.text)
    assert statuses["valid, individual insats (kept on the stream)"] == 202
    assert statuses["in a telephony form"] == 202
    assert statuses["in an oversized body"] == 413
    assert statuses["as the API key"] == 401
    assert sum(1 for s in statuses.values() if s >= 400) >= 15

    r = redis_sync.Redis.from_url(clean_redis)
    assert r.xlen(streams.REQUESTS) == 4  # two valid app requests, the idempotent one, one telephony form
    r.close()

    log = log_path.read_text(encoding="utf-8")
    assert log.count('"http_request"') >= len(statuses) - 2  # the two previews leave no line at all
    assert "/v1/eligibility/preview" not in log
    hits_in_log = NEEDLES.findall(log)
    hits_in_bodies = [b for b in bodies if NEEDLES.search(b)]
    assert hits_in_log == []
    assert hits_in_bodies == []
    assert PNR_MASK not in log  # not even masked: no line ever carried it (the redaction is the last guard)
    assert KEYS["app-sala"] not in log


def test_nothing_but_the_stream_entry_of_an_individual_request_holds_the_personnummer(intake_process, clean_redis):
    base, _log = intake_process
    body = {**INDIVIDUAL, "facts": {"personnummer": CANARY}}
    resp = httpx.post(f"{base}/v1/requests", json=body, headers={**bearer("app-sala"), "Idempotency-Key": "k1"})
    assert resp.status_code == 202
    preview = httpx.post(f"{base}/v1/eligibility/preview", json=body, headers=bearer("app-sala"))
    assert preview.status_code == 200
    r = redis_sync.Redis.from_url(clean_redis)
    holders = []
    for key in r.scan_iter():
        kind = r.type(key).decode()
        if kind == "string":
            text = r.get(key).decode("utf-8", "replace")
        elif kind == "hash":
            text = json.dumps({k.decode(): v.decode("utf-8", "replace") for k, v in r.hgetall(key).items()})
        elif kind == "stream":
            text = json.dumps([{k.decode(): v.decode() for k, v in f.items()} for _i, f in r.xrange(key)])
        else:
            continue
        if NEEDLES.search(text) or "191212121212" in text:
            holders.append(key.decode())
        assert CANARY not in key.decode()
    r.close()
    assert holders == [streams.REQUESTS]
