"""The audit store's tables and their versioned migrations (an ordered list, append only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from iub_audit.domain.chain import GENESIS

metadata = MetaData()

records = Table(
    "audit_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kommun", String(80), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("step", String(64), nullable=False),
    Column("level", String(20), nullable=False),
    Column("insats_id", String(120), nullable=False),
    Column("day", Date, nullable=False),
    # only individual-level records (14 kap 3 §) have this: partsinsyn looks it up
    Column("personnummer", String(12), nullable=True, index=True),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # gallring of a record behind a younger one: content and identity go, header and digests stay
    Column("purged_at", DateTime(timezone=True), nullable=True),
    Column("hash_version", Integer, nullable=False, server_default="1"),
    Column("content_sha256", String(64), nullable=True),
    # HMAC under the chain key (outside the database) of position, hash, creation and gallring mark
    Column("mac", String(64), nullable=True),
    UniqueConstraint("request_id", "step", name="uq_audit_request_step"),
    UniqueConstraint("kommun", "seq", name="uq_audit_kommun_seq"),
)

chain_heads = Table(
    "audit_chain_heads",
    metadata,
    Column("kommun", String(80), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    # gallring deletes a prefix of the chain; the last deleted record's position and hash stay here
    Column("base_seq", Integer, nullable=False, server_default="0"),
    Column("base_hash", String(64), nullable=False, server_default=GENESIS),
    # HMAC under the chain key of seq, hash, base and signed_from: a base move or head rewrite needs the key
    Column("mac", String(64), nullable=True),
    # records from this position on carry a MAC (earlier ones were written before the key existed)
    Column("signed_from", Integer, nullable=False, server_default="1"),
)

# 14 kap 4–5 § records wait here until the hour is over, then join their chains in random order, so a
# record's position in the chain cannot be matched with the order of the stream entries. No rowid
# (SQLite): the primary key is the keyed id, so not even the physical order follows arrival.
staged = Table(
    "audit_staged",
    metadata,
    Column("request_id", String(36), primary_key=True),  # the keyed record id, never the request's
    Column("step", String(64), primary_key=True),
    Column("kommun", String(80), nullable=False),
    Column("level", String(20), nullable=False),
    Column("insats_id", String(120), nullable=False),
    Column("day", Date, nullable=False),
    Column("hour", String(13), nullable=False),  # UTC hour it arrived in, e.g. 2025-09-05T10
    Column("body", Text, nullable=False),
    Column("mac", String(64), nullable=True),  # HMAC under the chain key of id, step and content
    sqlite_with_rowid=False,
)

# The provider's view of each request (issue 10). The durable source of the inbox, not the streams.
# No rowid and day-level times for 14 kap 4–5 § cases, so neither the physical order nor a
# timestamp follows the order the requests arrived in (see audit_staged).
cases = Table(
    "audit_cases",
    metadata,
    Column("case_id", String(36), primary_key=True),  # the decision record's id (keyed at 14:4/14:5)
    Column("kommun", String(80), nullable=False),
    Column("insats_id", String(120), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("level", String(20), nullable=False),
    Column("status", String(48), nullable=False),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("outcome", String(48), nullable=True),
    Column("request_day", Date, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("language", String(16), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # 14 kap 3 § only: identity (also in the records); never set for the other levels
    Column("personnummer", String(12), nullable=True),
    # 14 kap 5 § only: de-identified facts shown to the provider
    Column("age_band", String(8), nullable=True),
    Column("legal_gender", String(8), nullable=True),
    Column("reason_codes", Text, nullable=True),
    # what re-deciding needs, only as the level allows (README: "What re-deciding needs"); emptied at the end
    Column("facts", Text, nullable=True),
    Column("decision", Text, nullable=True),  # the current revision's decision (staff view)
    Column("confirmations", Text, nullable=False, server_default="{}"),
    Column("child_consent", Boolean, nullable=True),
    sqlite_with_rowid=False,
)
CASES_INDEX = Index("ix_audit_cases_inbox", cases.c.kommun, cases.c.unit, cases.c.status, cases.c.request_day)

case_revisions = Table(
    "audit_case_revisions",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("outcome", String(48), nullable=True),
    Column("decided_on", Date, nullable=False),
    Column("event_id", String(36), nullable=True),
    sqlite_with_rowid=False,
)

# a provider's posts, once per event id (a retried form post documents once)
provider_events = Table(
    "audit_provider_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # facts | start | contact | end | …
    Column("body_sha256", String(64), nullable=False),
    Column("revision", Integer, nullable=True),  # facts: the revision they lead to
    Column("recorded_day", Date, nullable=False),
    sqlite_with_rowid=False,
)

# Carrying-out events of a case (issue 10, point 4): the order the state machine checks and what the
# case view shows. The chain record is the documentation; this row is its index, at the same level
# (details hold a 14 kap 3 § note only for individual cases) and gallrad with it.
case_events = Table(
    "audit_case_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("kommun", String(80), nullable=False),
    Column("insats_id", String(120), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("level", String(20), nullable=False),
    Column("kind", String(10), nullable=False),  # start | contact | end | count
    Column("day", Date, nullable=False),
    Column("details", Text, nullable=False),  # JSON
    Column("body_sha256", String(64), nullable=False),
    sqlite_with_rowid=False,
)

schema_version = Table(
    "audit_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

STATS_INDEX = Index("ix_audit_kommun_step_day", records.c.kommun, records.c.step, records.c.day)


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _m1(conn: Connection) -> None:
    """The records and the chain heads."""
    records.create(conn, checkfirst=True)
    chain_heads.create(conn, checkfirst=True)


def _m2(conn: Connection) -> None:
    """purged_at: gallring of content while the chain still links."""
    if "purged_at" not in _columns(conn, "audit_records"):
        kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "TIMESTAMP"
        conn.execute(text(f"ALTER TABLE audit_records ADD COLUMN purged_at {kind} NULL"))


def _m3(conn: Connection) -> None:
    """Hash version 2 (header + content digest, so gallrad records still verify) and the stats index."""
    have = _columns(conn, "audit_records")
    if "hash_version" not in have:
        conn.execute(text("ALTER TABLE audit_records ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1"))
    if "content_sha256" not in have:
        conn.execute(text("ALTER TABLE audit_records ADD COLUMN content_sha256 VARCHAR(64) NULL"))
    if STATS_INDEX.name not in {i["name"] for i in inspect(conn).get_indexes("audit_records")}:
        STATS_INDEX.create(conn)


def _m4(conn: Connection) -> None:
    """Keyed anchors: a MAC per record and per head, and where signing began in each chain."""
    if "mac" not in _columns(conn, "audit_records"):
        conn.execute(text("ALTER TABLE audit_records ADD COLUMN mac VARCHAR(64) NULL"))
    have = _columns(conn, "audit_chain_heads")
    if "mac" not in have:
        conn.execute(text("ALTER TABLE audit_chain_heads ADD COLUMN mac VARCHAR(64) NULL"))
    if "signed_from" not in have:
        conn.execute(text("ALTER TABLE audit_chain_heads ADD COLUMN signed_from INTEGER NOT NULL DEFAULT 1"))


def _m5(conn: Connection) -> None:
    """Staging of 14 kap 4–5 § records until their hour is over (chain order does not follow arrival)."""
    staged.create(conn, checkfirst=True)


def _m6(conn: Connection) -> None:
    """Provider cases (inbox and case view), their revisions and the providers' events (issue 10)."""
    cases.create(conn, checkfirst=True)
    if CASES_INDEX.name not in {i["name"] for i in inspect(conn).get_indexes("audit_cases")}:
        CASES_INDEX.create(conn)
    case_revisions.create(conn, checkfirst=True)
    provider_events.create(conn, checkfirst=True)
    # room for revision and carrying-out steps ('information:r12', 'contact:<event id>'); SQLite never
    # enforced the length
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_records ALTER COLUMN step TYPE VARCHAR(64)"))
        conn.execute(text("ALTER TABLE audit_staged ALTER COLUMN step TYPE VARCHAR(64)"))


def _m7(conn: Connection) -> None:
    """Carrying-out events of cases and advisory counts (issue 10, point 4)."""
    case_events.create(conn, checkfirst=True)


# ordered, versioned migrations; append only, never edit one that has shipped
MIGRATIONS: list[tuple[int, Callable[[Connection], Any]]] = [(1, _m1), (2, _m2), (3, _m3), (4, _m4), (5, _m5),
                                                             (6, _m6), (7, _m7)]


def migrate(engine: Engine) -> int:
    """Apply pending migrations in order, each recorded in audit_schema_version; returns the version."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes starting together migrate one at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        schema_version.create(conn, checkfirst=True)
        done = {r[0] for r in conn.execute(select(schema_version.c.version))}
        for version, fn in MIGRATIONS:
            if version not in done:
                fn(conn)
                conn.execute(insert(schema_version).values(version=version, applied_at=dt.datetime.now(dt.UTC)))
        return max(v for v, _ in MIGRATIONS)
