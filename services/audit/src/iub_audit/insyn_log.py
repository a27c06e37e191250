"""Every partsinsyn lookup is itself recorded: who looked, when, in which kommuner, which requests were shown.

The person looked up is kept only as a keyed hash (HMAC-SHA256 of the 12-digit form), never in
clear; the key lives outside the audit database (IUB_INSYN_LOG_KEY, or a key file beside it,
created once with mode 0600). With the key an auditor can answer "who has looked at this
person's file" (``lookups_about``); without it the table names nobody. The table is separate
from the documentation chain and has its own schema version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

metadata = MetaData()

lookups = Table(
    "audit_insyn_lookups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("client_id", String(80), nullable=False),
    Column("requested_by", String(80), nullable=True),  # the handläggare's staff id, when the client gives it
    Column("kommuner", Text, nullable=False),  # JSON list; ["*"] for every kommun
    Column("subject", String(64), nullable=False, index=True),  # HMAC-SHA256(key, personnummer12), hex
    Column("key_id", String(16), nullable=False),  # which key made the subject (rotation)
    Column("outcome", String(20), nullable=False),  # shown | refused_scope
    Column("records", Integer, nullable=False),
    Column("request_ids", Text, nullable=False),  # JSON list of the request ids shown
)


@dataclass(frozen=True)
class LookupKey:
    """The secret the subject hash is keyed with, and its short public id."""

    secret: bytes

    @property
    def key_id(self) -> str:
        """First 16 hex digits of SHA-256 of the key: names the key, reveals nothing."""
        return hashlib.sha256(b"iub-insyn-log-key-id:" + self.secret).hexdigest()[:16]

    def subject(self, personnummer12: str) -> str:
        """The keyed hash standing for the person looked up."""
        return hmac.new(self.secret, personnummer12.encode("ascii"), hashlib.sha256).hexdigest()


def load_key(configured: str | None, key_file: Path) -> LookupKey:
    """The configured key, else the key file (created with 32 random bytes, mode 0600, on first use)."""
    if configured:
        return LookupKey(configured.encode("utf-8"))
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return LookupKey(key_file.read_text(encoding="ascii").strip().encode("ascii"))


def ensure_table(engine: Engine) -> None:
    """Create the lookup table when missing (its own table: the record chain is not touched)."""
    metadata.create_all(engine, tables=[lookups], checkfirst=True)


def record(engine: Engine, key: LookupKey, *, at: dt.datetime, client_id: str, kommuner: list[str] | None,
           personnummer12: str, outcome: str, request_ids: list[str], requested_by: str | None = None) -> None:
    """Append one lookup."""
    with engine.begin() as conn:
        conn.execute(insert(lookups).values(
            at=at, client_id=client_id, requested_by=requested_by, kommuner=json.dumps(kommuner or ["*"]),
            subject=key.subject(personnummer12),
            key_id=key.key_id, outcome=outcome, records=len(request_ids), request_ids=json.dumps(request_ids)))


def lookups_about(engine: Engine, key: LookupKey, personnummer12: str) -> list[dict[str, Any]]:
    """Every recorded lookup of one person (needs the key), oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(lookups).where(lookups.c.subject == key.subject(personnummer12))
                            .order_by(lookups.c.id)).mappings().all()
    return [{**dict(r), "kommuner": json.loads(r["kommuner"]), "request_ids": json.loads(r["request_ids"])}
            for r in rows]
