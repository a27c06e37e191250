"""The audit store: SQLite by default, PostgreSQL in production, same code (SQLAlchemy Core).

Writes are idempotent: one record per (request id, step), enforced by a unique constraint.
Records form a hash chain per kommun; the chain head row is locked while appending so two
audit processes never fork a chain.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from iub_audit.domain.chain import GENESIS, canonical_json, chain_hash, first_broken_link

metadata = MetaData()

records = Table(
    "audit_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kommun", String(80), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("step", String(20), nullable=False),
    Column("level", String(20), nullable=False),
    Column("insats_id", String(120), nullable=False),
    Column("day", Date, nullable=False),
    # only individual-level records (14 kap 3 §) have this: partsinsyn looks it up
    Column("personnummer", String(12), nullable=True, index=True),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # gallring: a purged record keeps its place and hashes (the chain still links) but no content
    Column("purged_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("request_id", "step", name="uq_audit_request_step"),
    UniqueConstraint("kommun", "seq", name="uq_audit_kommun_seq"),
)

chain_heads = Table(
    "audit_chain_heads",
    metadata,
    Column("kommun", String(80), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    # purged records leave their last hash here so the chain still verifies (gallring)
    Column("base_seq", Integer, nullable=False, server_default="0"),
    Column("base_hash", String(64), nullable=False, server_default=GENESIS),
)

schema_version = Table(
    "audit_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def _m1(conn) -> None:
    records.create(conn, checkfirst=True)
    chain_heads.create(conn, checkfirst=True)


def _m2(conn) -> None:
    """Add purged_at (gallring keeps hashes, drops content) to stores created before it existed."""
    from sqlalchemy import inspect

    if "purged_at" not in {c["name"] for c in inspect(conn).get_columns("audit_records")}:
        kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "TIMESTAMP"
        conn.execute(text(f"ALTER TABLE audit_records ADD COLUMN purged_at {kind} NULL"))


# ordered, versioned migrations; append only
MIGRATIONS: list[tuple[int, Any]] = [(1, _m1), (2, _m2)]


def default_sqlite_url(var_dir: Path = Path("var")) -> str:
    """The embedded default: a SQLite file under ./var/."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(var_dir / 'audit.sqlite3').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for SQLite or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "isolation_level": None}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _rec):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn):  # one writer at a time: the chain never forks
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> int:
    """Apply pending migrations; returns the schema version."""
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        done = {r[0] for r in conn.execute(select(schema_version.c.version))}
        for version, fn in MIGRATIONS:
            if version not in done:
                fn(conn)
                conn.execute(insert(schema_version).values(version=version, applied_at=dt.datetime.now(dt.UTC)))
        return max([v for v, _ in MIGRATIONS])


@dataclass(frozen=True)
class Stored:
    """Result of an append: the record's chain position and hash, and whether it was new."""

    kommun: str
    seq: int
    hash: str
    created: bool


class AuditStore:
    """Appends documentation records to per-kommun hash chains; reads them for insyn and stats."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pg = engine.dialect.name == "postgresql"

    def append(self, body: dict[str, Any], *, personnummer: str | None, now: dt.datetime) -> Stored:
        """Store a record once per (request id, step); a second call returns the first one."""
        return self.append_many([(body, personnummer)], now=now)[0]

    def append_many(self, items: list[tuple[dict[str, Any], str | None]], *, now: dt.datetime) -> list[Stored]:
        """Append several records (body, personnummer) in one transaction; idempotent per record.

        Statements per batch, not per record: one look-up of existing (request id, step), one
        locked head read and one head update per kommun, one multi-row insert.
        """
        if not items:
            return []
        for _attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    return self._append_batch(conn, items, now)
            except IntegrityError:
                continue  # a concurrent writer won a race: its rows are seen on the next turn
        raise RuntimeError("could not append audit records after retries")

    def _append_batch(self, conn, items: list[tuple[dict[str, Any], str | None]], now: dt.datetime) -> list[Stored]:
        keys = [(str(b["request_id"]), str(b["step"])) for b, _ in items]
        existing: dict[tuple[str, str], Stored] = {}
        for r in conn.execute(
            select(records.c.request_id, records.c.step, records.c.kommun, records.c.seq, records.c.hash).where(
                records.c.request_id.in_({k[0] for k in keys})
            )
        ):
            existing[(r.request_id, r.step)] = Stored(r.kommun, r.seq, r.hash, created=False)
        heads: dict[str, list] = {}  # kommun -> [seq, hash]
        rows, results = [], []
        for (body, pnr), key in zip(items, keys, strict=True):
            if key in existing:
                results.append(existing[key])
                continue
            kommun = str(body["kommun"])
            if kommun not in heads:
                q = select(chain_heads.c.seq, chain_heads.c.hash).where(chain_heads.c.kommun == kommun)
                head = conn.execute(q.with_for_update() if self._pg else q).first()
                if head is None:
                    conn.execute(insert(chain_heads).values(kommun=kommun, seq=0, hash=GENESIS))
                    heads[kommun] = [0, GENESIS]
                else:
                    heads[kommun] = [head.seq, head.hash]
            seq, prev_hash = heads[kommun][0] + 1, heads[kommun][1]
            canonical = canonical_json(body)
            h = chain_hash(prev_hash, kommun, seq, canonical)
            heads[kommun] = [seq, h]
            rows.append(dict(
                kommun=kommun, seq=seq, request_id=key[0], step=key[1], level=body["level"],
                insats_id=body["insats_id"], day=dt.date.fromisoformat(str(body["day"])), personnummer=pnr,
                body=canonical, prev_hash=prev_hash, hash=h, created_at=now, purged_at=None,
            ))
            stored = Stored(kommun, seq, h, created=True)
            existing[key] = stored  # the same record twice in one batch is stored once
            results.append(stored)
        if rows:
            conn.execute(insert(records), rows)
            for kommun, (seq, h) in heads.items():
                conn.execute(update(chain_heads).where(chain_heads.c.kommun == kommun).values(seq=seq, hash=h))
        return results

    def purge(self, before: dt.date, *, levels: list[str] | None = None, now: dt.datetime) -> int:
        """Gallring: drop the content of records older than a day; hashes stay, so the chain verifies."""
        q = (
            update(records)
            .where(records.c.day < before, records.c.purged_at.is_(None))
            .values(body="", personnummer=None, purged_at=now)
        )
        if levels:
            q = q.where(records.c.level.in_(levels))
        with self.engine.begin() as conn:
            return conn.execute(q).rowcount or 0

    def rows_for_stats(self, kommun: str, start: dt.date, end: dt.date) -> list[tuple[str, str, dt.date, dict]]:
        """(level, insats, day, body) of decision records in a period (not purged)."""
        q = select(records.c.level, records.c.insats_id, records.c.day, records.c.body).where(
            records.c.kommun == kommun, records.c.step == "decision", records.c.day >= start,
            records.c.day <= end, records.c.purged_at.is_(None),
        )
        with self.engine.connect() as conn:
            return [(r.level, r.insats_id, r.day, json.loads(r.body)) for r in conn.execute(q)]

    def identity_for(self, request_id: uuid.UUID | str) -> str | None:
        """The personnummer of a request's individual-level decision record, if any."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(records.c.personnummer).where(
                    records.c.request_id == str(request_id), records.c.step == "decision"
                )
            ).scalar()

    def identities_for(self, request_ids: list[str]) -> dict[str, str]:
        """request id → personnummer of individual-level decision records (one query)."""
        if not request_ids:
            return {}
        q = select(records.c.request_id, records.c.personnummer).where(
            records.c.request_id.in_(request_ids), records.c.step == "decision",
            records.c.personnummer.is_not(None),
        )
        with self.engine.connect() as conn:
            return {r.request_id: r.personnummer for r in conn.execute(q)}

    def kommuner(self) -> list[str]:
        """Kommuner that have a chain."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(chain_heads.c.kommun).order_by(chain_heads.c.kommun))]

    def verify(self, kommun: str | None = None) -> dict[str, int | None]:
        """Recompute every chain; per kommun the first broken seq, or None when intact."""
        result: dict[str, int | None] = {}
        for k in [kommun] if kommun else self.kommuner():
            with self.engine.connect() as conn:
                head = conn.execute(select(chain_heads).where(chain_heads.c.kommun == k)).first()
                rows = conn.execute(
                    select(records.c.seq, records.c.body, records.c.prev_hash, records.c.hash, records.c.purged_at)
                    .where(records.c.kommun == k)
                    .order_by(records.c.seq)
                ).all()
            if head is None:
                result[k] = None
                continue
            broken = first_broken_link(
                [(r.seq, None if r.purged_at else r.body, r.prev_hash, r.hash) for r in rows],
                k, start_prev=head.base_hash, start_seq=head.base_seq + 1,
            )
            if broken is None and (rows[-1].seq if rows else head.base_seq) != head.seq:
                broken = (rows[-1].seq + 1) if rows else head.base_seq + 1  # tail deleted
            if broken is None and rows and rows[-1].hash != head.hash:
                broken = rows[-1].seq
            result[k] = broken
        return result

    def checkpoint(self) -> list[dict[str, Any]]:
        """Current head of every chain: count and hash, to export somewhere unrewritable."""
        with self.engine.connect() as conn:
            return [
                {"kommun": r.kommun, "seq": r.seq, "hash": r.hash}
                for r in conn.execute(select(chain_heads).order_by(chain_heads.c.kommun))
            ]

    def export_person(self, personnummer: str, kommuner: list[str] | None = None) -> list[dict[str, Any]]:
        """Partsinsyn: every individual-level record of one person (others are unlinkable)."""
        q = select(records.c.body).where(
            records.c.personnummer == personnummer, records.c.level == "individual", records.c.purged_at.is_(None)
        ).order_by(records.c.kommun, records.c.seq)
        if kommuner is not None:
            q = q.where(records.c.kommun.in_(kommuner))
        with self.engine.connect() as conn:
            return [json.loads(r[0]) for r in conn.execute(q)]

    def count(self, **where: str) -> int:
        """Number of records matching equality filters (tests and ops)."""
        q = select(text("count(*)")).select_from(records)
        for k, v in where.items():
            q = q.where(records.c[k] == v)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)
