"""Shared helpers of the intake tests: test clients with their keys, signing, stream reads."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path

import httpx

from iub_contracts import streams
from iub_intake.settings import IntakeSettings
from iub_runtime import webhooks
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key, new_key

CATALOG_DIR = Path(__file__).resolve().parents[3] / "catalog"

# schemathesis figures per operation, printed in the terminal summary (see conftest)
SCHEMATHESIS: dict[str, dict] = {}

# a valid personnummer (Skatteverket's test number) used as the canary in logs and bodies
CANARY = "19121212-1212"
CANARY_FORMS = ("191212121212", "121212-1212", "1212121212", "19121212-1212", "121212+1212")

SECRETS = {"phone-sala": "whsec_" + "c2FsYS10ZWxlZm9uaS1zZWNyZXQtMzItYnl0ZXMhIQ==",
           "phone-ostersund": "ostersund-telefoni-hemlighet-32b"}

APP = [Operation.CATALOG_READ, Operation.REQUESTS_CREATE, Operation.REQUESTS_READ, Operation.PREVIEW]
SPECS = {
    "app-sala": (["sala"], APP, 600),
    "app-ostersund": (["ostersund"], APP, 600),
    "app-all": (["*"], APP, 1_000_000),
    "phone-sala": (["sala"], [Operation.TELEPHONY, Operation.REQUESTS_READ], 600),
    "phone-ostersund": (["ostersund"], [Operation.TELEPHONY, Operation.REQUESTS_READ], 600),
    "operator": (["*"], [Operation.OPS_READ], 600),
    "slow": (["sala"], [Operation.CATALOG_READ], 3),
}
KEYS = {cid: new_key() for cid in SPECS}


@contextlib.asynccontextmanager
async def started(api, base_url: str = "http://intake"):
    """An HTTP client on an in-process app whose lifespan has run (Redis, catalogue, broker)."""
    async with api.router.lifespan_context(api), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url=base_url
    ) as client:
        yield client


def luhn_pnr(yyyymmdd: str, serial: str, sep: str = "-") -> str:
    """A valid personnummer (or samordningsnummer: day + 60) for a date and a 3-digit serial."""
    digits = yyyymmdd[2:] + serial
    total = 0
    for i, ch in enumerate(digits):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        total += p // 10 + p % 10
    return f"{yyyymmdd}{sep}{serial}{(10 - total % 10) % 10}"


def make_settings(redis_url: str, **overrides) -> IntakeSettings:
    """Settings for an in-process intake on the test Redis."""
    return IntakeSettings.model_validate({"REDIS_URL": redis_url, "catalog_dir": str(CATALOG_DIR),
                                          "log_json": True, **overrides})


def client_configs() -> list[ClientConfig]:
    """The test clients: app backends, telephony platforms, an operator and a slow one."""
    return [
        ClientConfig(id=cid, name=cid, key_sha256=[hash_key(KEYS[cid])], kommuner=k, operations=ops,
                     rate_per_minute=rate, webhook_secret=SECRETS.get(cid))
        for cid, (k, ops, rate) in SPECS.items()
    ]


def registry() -> ClientRegistry:
    """A registry of the test clients."""
    return ClientRegistry(client_configs())


def clients_json() -> str:
    """The test clients as IUB_CLIENTS_JSON."""
    return json.dumps({"clients": [c.model_dump(mode="json") for c in client_configs()]})


def bearer(cid: str) -> dict[str, str]:
    """Authorization header of a test client."""
    return {"Authorization": f"Bearer {KEYS[cid]}"}


def signed(cid: str, body: bytes, *, ts: int | None = None, msg_id: str | None = None,
           secret: str | None = None) -> dict[str, str]:
    """Headers of a Standard Webhooks signed call by a telephony client (key included)."""
    ts = int(time.time()) if ts is None else ts
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    sig = webhooks.sign(secret or SECRETS[cid], msg_id, ts, body)
    return {**bearer(cid), "webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig,
            "content-type": "application/json"}


def form_event(kommun: str = "sala", insats: str = "budgetradgivning", call_ref: str = "call-1",
               **facts) -> bytes:
    """An agent.form_submitted event body."""
    return json.dumps({"type": "agent.form_submitted", "call_ref": call_ref,
                       "occurred_at": "2025-09-05T10:00:00+00:00", "agent_id": "agent-7",
                       "form": {"kommun": kommun, "insats_id": insats, "facts": facts}}).encode()


def call_event(kind: str = "call.started", call_ref: str = "call-1") -> bytes:
    """A call.started / call.ended event body."""
    return json.dumps({"type": kind, "call_ref": call_ref, "occurred_at": "2025-09-05T10:00:00+00:00"}).encode()


def requests_on_stream(r) -> list[dict]:
    """Every RequestReceived on the requests stream (sync redis client)."""
    return [json.loads(f[b"__data__"]) for _id, f in r.xrange(streams.REQUESTS)]


def xlen(r) -> int:
    """Entries on the requests stream."""
    return r.xlen(streams.REQUESTS) if r.exists(streams.REQUESTS) else 0
