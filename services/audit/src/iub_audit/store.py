"""The audit store: SQLite by default, PostgreSQL in production, same code (SQLAlchemy Core).

Writes are idempotent: one record per (request id, step), enforced by a unique constraint.
Records form a hash chain per kommun; the chain head row is locked while appending (and while
purging) so two audit processes never fork a chain.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, create_engine, delete, event, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from iub_audit.domain.chain import (
    CURRENT_VERSION,
    GENESIS,
    Broken,
    CheckpointHead,
    Head,
    Header,
    Link,
    canonical_json,
    chain_hash,
    check_against_checkpoint,
    first_broken_link,
    sha256_hex,
)
from iub_audit.domain.linkage import LinkKeys
from iub_audit.domain.signing import Signer
from iub_audit.schema import chain_heads, migrate, records, staged

__all__ = ["AuditStore", "Stored", "PurgeResult", "default_sqlite_url", "make_engine", "migrate"]


def default_sqlite_url(var_dir: Path = Path("var")) -> str:
    """The embedded default: a SQLite file under ./var/."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(var_dir / 'audit.sqlite3').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for SQLite or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "isolation_level": None}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

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


@dataclass(frozen=True)
class Stored:
    """Result of an append: the record's chain position and hash, and whether it was new."""

    kommun: str
    seq: int
    hash: str
    created: bool


@dataclass(frozen=True)
class PurgeResult:
    """What gallring did to one kommun's chain."""

    kommun: str
    deleted: int
    emptied: int
    base_seq: int
    base_hash: str
    refused: Broken | None = None


def _head(conn: Connection, kommun: str, *, lock: bool) -> Head | None:
    q = select(chain_heads).where(chain_heads.c.kommun == kommun)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    r = conn.execute(q).first()
    return None if r is None else Head(r.seq, r.hash, r.base_seq, r.base_hash, r.mac, r.signed_from)


def _links(conn: Connection, kommun: str) -> Iterator[Link]:
    """A chain's records in order, streamed (a chain may be long)."""
    q = select(records).where(records.c.kommun == kommun).order_by(records.c.seq)
    for r in conn.execute(q.execution_options(yield_per=2000)):
        yield Link(seq=r.seq, version=r.hash_version, header=Header(r.request_id, r.step, r.level, r.insats_id, r.day),
                   body=None if r.purged_at is not None else r.body, content_sha256=r.content_sha256,
                   personnummer=r.personnummer, prev_hash=r.prev_hash, hash=r.hash, mac=r.mac,
                   created_at=r.created_at, purged_at=r.purged_at)


def _expired_clause(cutoffs: Mapping[str, dt.date]):
    return or_(*(and_(records.c.level == level, records.c.day < day) for level, day in cutoffs.items()))


def _utc(ts: dt.datetime) -> dt.datetime:
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), dt.UTC)


class AuditStore:
    """Appends documentation records to per-kommun hash chains; reads them for insyn and statistics.

    With a ``signer`` (the chain key, held outside the database) every record and head is also
    MAC'd, and verify refuses what lacks the MAC; without one only the hashes are checked.
    """

    def __init__(self, engine: Engine, signer: Signer | None = None) -> None:
        self.engine = engine
        self.signer = signer

    def _head_values(self, kommun: str, seq: int, hash_: str, base_seq: int, base_hash: str,
                     signed_from: int) -> dict[str, Any]:
        mac = (self.signer.head_mac(kommun, seq, hash_, base_seq, base_hash, signed_from)
               if self.signer else None)
        return dict(seq=seq, hash=hash_, base_seq=base_seq, base_hash=base_hash, signed_from=signed_from, mac=mac)

    def adopt_unsigned(self) -> list[str]:
        """Sign the heads of chains written before the chain key existed (their records stay hash-only).

        Only a chain with no signed record and that verifies by hash is adopted; its records up to
        the head stay legacy (``signed_from`` = head + 1). Returns the kommuner adopted.
        """
        if self.signer is None:
            return []
        adopted = []
        for kommun in self.kommuner():
            with self.engine.begin() as conn:
                head = _head(conn, kommun, lock=True)
                if head is None or head.mac is not None:
                    continue
                signed = conn.execute(select(func.count()).select_from(records).where(
                    records.c.kommun == kommun, records.c.mac.is_not(None))).scalar()
                if signed or first_broken_link(_links(conn, kommun), kommun, head) is not None:
                    continue
                conn.execute(update(chain_heads).where(chain_heads.c.kommun == kommun).values(
                    **self._head_values(kommun, head.seq, head.hash, head.base_seq, head.base_hash, head.seq + 1)))
                adopted.append(kommun)
        return adopted

    # ------------------------------------------------------------------ writing

    def append(self, body: dict[str, Any], *, personnummer: str | None, now: dt.datetime) -> Stored:
        """Store a record once per (request id, step); a second call returns the first one."""
        return self.append_many([(body, personnummer)], now=now)[0]

    def append_many(self, items: list[tuple], *, now: dt.datetime) -> list[Stored]:
        """Append several records in one transaction; idempotent per record.

        An item is (body, personnummer) or (body, personnummer, aliases): ``aliases`` are the ids
        the same record would have had under a previous linkage key (14 kap 4–5 § records), so a
        redelivery across a key rotation is still stored once.
        """
        if not items:
            return []
        last: IntegrityError | None = None
        for _attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    return [self._append(conn, it[0], it[1], now, it[2] if len(it) > 2 else ()) for it in items]
            except IntegrityError as exc:  # a concurrent writer created the same head or record first
                last = exc
        raise RuntimeError("could not append audit records after retries") from last

    def _append(self, conn: Connection, body: dict[str, Any], personnummer: str | None, now: dt.datetime,
                aliases: Iterable[str] = ()) -> Stored:
        header, kommun = Header.of(body), str(body["kommun"])
        ids = [header.request_id, *aliases]
        existing = conn.execute(
            select(records.c.kommun, records.c.seq, records.c.hash).where(
                records.c.request_id.in_(ids), records.c.step == header.step
            )
        ).first()
        if existing:
            return Stored(existing.kommun, existing.seq, existing.hash, created=False)
        canonical = canonical_json(body)
        if header.level != "individual":  # 14 kap 4–5 §: staged, chained after its hour in random order
            waiting = conn.execute(select(staged.c.kommun).where(staged.c.request_id.in_(ids),
                                                                 staged.c.step == header.step)).first()
            if waiting:
                return Stored(kommun, 0, "", created=False)
            mac = (self.signer.staged_mac(header.request_id, header.step, kommun, sha256_hex(canonical))
                   if self.signer else None)
            conn.execute(insert(staged).values(
                request_id=header.request_id, step=header.step, kommun=kommun, level=header.level,
                insats_id=header.insats_id, day=header.day, hour=_utc(now).strftime("%Y-%m-%dT%H"), body=canonical,
                mac=mac))
            return Stored(kommun, 0, "", created=True)
        return self._chain(conn, kommun, header, canonical, personnummer, _utc(now).replace(microsecond=0))

    def _chain(self, conn: Connection, kommun: str, header: Header, canonical: str, personnummer: str | None,
               created: dt.datetime) -> Stored:
        """Append one record to its kommun's chain (head locked), MAC'd when there is a signer."""
        head = _head(conn, kommun, lock=True)
        if head is None:
            conn.execute(insert(chain_heads).values(kommun=kommun, **self._head_values(kommun, 0, GENESIS, 0,
                                                                                        GENESIS, 1)))
            head = _head(conn, kommun, lock=True)
        seq = head.seq + 1
        content = sha256_hex(canonical)
        h = chain_hash(head.hash, kommun, seq, header, content)
        mac = self.signer.record_mac(kommun, seq, CURRENT_VERSION, h, created, None) if self.signer else None
        conn.execute(
            insert(records).values(
                kommun=kommun, seq=seq, request_id=header.request_id, step=header.step, level=header.level,
                insats_id=header.insats_id, day=header.day, personnummer=personnummer, body=canonical,
                prev_hash=head.hash, hash=h, created_at=created, hash_version=CURRENT_VERSION, content_sha256=content,
                mac=mac,
            )
        )
        conn.execute(update(chain_heads).where(chain_heads.c.kommun == kommun).values(
            **self._head_values(kommun, seq, h, head.base_seq, head.base_hash, head.signed_from)))
        return Stored(kommun, seq, h, created=True)

    def _staged_ok(self, r) -> bool:
        return self.signer is None or self.signer.verify(r.mac, self.signer.staged_mac(
            r.request_id, r.step, r.kommun, sha256_hex(r.body)))

    def flush_staged(self, now: dt.datetime, *, everything: bool = False,
                     rng: random.Random | None = None) -> int:
        """Chain the 14 kap 4–5 § records of hours that are over (all with ``everything``), in random order.

        Each kommun in its own transaction; rows another process is flushing are skipped (PostgreSQL
        SKIP LOCKED; SQLite writes one at a time). A staged row whose MAC fails stays where it is,
        for verify to report, and is never laundered into the chain. Returns the records chained.
        """
        rng = rng or random.SystemRandom()
        hour = _utc(now).strftime("%Y-%m-%dT%H")
        with self.engine.connect() as conn:
            kommuner = sorted({r[0] for r in conn.execute(select(staged.c.kommun).distinct())})
        done = 0
        for kommun in kommuner:
            with self.engine.begin() as conn:
                q = select(staged).where(staged.c.kommun == kommun)
                if not everything:
                    q = q.where(staged.c.hour < hour)
                if conn.dialect.name == "postgresql":
                    q = q.with_for_update(skip_locked=True)
                rows = [r for r in conn.execute(q).all() if self._staged_ok(r)]
                rng.shuffle(rows)
                for r in rows:
                    day = r.day if isinstance(r.day, dt.date) else dt.date.fromisoformat(str(r.day))
                    header = Header(r.request_id, r.step, r.level, r.insats_id, day)
                    self._chain(conn, kommun, header, r.body, None, _day_start(day))
                    conn.execute(delete(staged).where(staged.c.request_id == r.request_id, staged.c.step == r.step))
                done += len(rows)
        return done

    def purge(self, cutoffs: Mapping[str, dt.date], *, now: dt.datetime) -> list[PurgeResult]:
        """Gallring: delete each chain's expired prefix and move its base; empty expired records behind it.

        A chain that does not verify is left alone (purging would destroy the evidence).
        """
        results = []
        for kommun in self.kommuner():
            with self.engine.begin() as conn:
                head = _head(conn, kommun, lock=True)
                broken = first_broken_link(_links(conn, kommun), kommun, head, signer=self.signer)
                if broken is not None or head is None:
                    results.append(PurgeResult(kommun, 0, 0, head.base_seq if head else 0,
                                               head.base_hash if head else GENESIS, refused=broken))
                    continue
                results.append(self._purge_chain(conn, kommun, head, cutoffs, now))
        return results

    def _purge_chain(self, conn: Connection, kommun: str, head: Head, cutoffs: Mapping[str, dt.date],
                     now: dt.datetime) -> PurgeResult:
        expired = _expired_clause(cutoffs)
        in_chain = records.c.kommun == kommun
        # the first record still to keep (live and not expired); everything before it is the prefix
        first_kept = conn.execute(
            select(func.min(records.c.seq)).where(in_chain, records.c.purged_at.is_(None), ~expired)
        ).scalar()
        last_gone = head.seq if first_kept is None else first_kept - 1
        deleted, base_seq, base_hash = 0, head.base_seq, head.base_hash
        if last_gone > head.base_seq:
            base_seq = last_gone
            base_hash = conn.execute(select(records.c.hash).where(in_chain, records.c.seq == last_gone)).scalar_one()
            deleted = conn.execute(delete(records).where(in_chain, records.c.seq <= last_gone)).rowcount or 0
            # the base move is signed: without the key a moved base fails verify
            conn.execute(update(chain_heads).where(chain_heads.c.kommun == kommun).values(
                **self._head_values(kommun, head.seq, head.hash, base_seq, base_hash, head.signed_from)))
        # expired records behind a younger one: content and identity go now, the row when the prefix reaches it
        now = _utc(now).replace(microsecond=0)
        behind = conn.execute(select(records.c.id, records.c.seq, records.c.hash, records.c.hash_version,
                                     records.c.created_at).where(
            in_chain, records.c.seq > last_gone, records.c.purged_at.is_(None), expired)).all()
        for r in behind:  # the gallring mark is signed too: a record emptied without the key fails verify
            mac = (self.signer.record_mac(kommun, r.seq, r.hash_version, r.hash, r.created_at, now)
                   if self.signer and r.seq >= head.signed_from else None)
            values: dict[str, Any] = dict(body="", personnummer=None, purged_at=now)
            if mac is not None:
                values["mac"] = mac
            conn.execute(update(records).where(records.c.id == r.id).values(**values))
        return PurgeResult(kommun, deleted, len(behind), base_seq, base_hash)

    # ------------------------------------------------------------------ verifying

    def kommuner(self) -> list[str]:
        """Kommuner with a chain head or with records (a record without a head is itself a finding)."""
        with self.engine.connect() as conn:
            heads = {r[0] for r in conn.execute(select(chain_heads.c.kommun))}
            found = {r[0] for r in conn.execute(select(records.c.kommun).distinct())}
            waiting = {r[0] for r in conn.execute(select(staged.c.kommun).distinct())}
        return sorted(heads | found | waiting)

    def verify(self, kommun: str | None = None,
               purged_too_early: Callable[[Header], bool] | None = None,
               purge_allowed: Callable[[Header, dt.datetime | None], bool] | None = None) -> dict[str, Broken | None]:
        """Recompute every chain (or one); per kommun the first broken link, or None when intact."""
        result: dict[str, Broken | None] = {}
        for k in [kommun] if kommun else self.kommuner():
            with self.engine.connect() as conn:
                head = _head(conn, k, lock=False)
                exists = head is not None or conn.execute(
                    select(records.c.id).where(records.c.kommun == k).limit(1)).first() is not None
                result[k] = first_broken_link(_links(conn, k), k, head, purged_too_early, self.signer,
                                              purge_allowed) if exists else None
                if result[k] is None:
                    bad = [r for r in conn.execute(select(staged).where(staged.c.kommun == k))
                           if not self._staged_ok(r)]
                    if bad:
                        result[k] = Broken(0, f"{len(bad)} väntande 14 kap 4–5 §-poster är ändrade")
        return result

    def checkpoint(self, at: str | None = None) -> list[dict[str, Any]]:
        """Every chain head: records written (seq), kept (count), hash, base, the head record's level and day.

        With a signer each head also carries ``at``, ``signed_from``, ``key_id`` and its ``mac``.
        """
        at = at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.engine.connect() as conn:
            counts = dict(conn.execute(select(records.c.kommun, func.count()).group_by(records.c.kommun)).all())
            out = []
            for r in conn.execute(select(chain_heads).order_by(chain_heads.c.kommun)).all():
                last = conn.execute(select(records.c.level, records.c.day).where(
                    records.c.kommun == r.kommun, records.c.seq == r.seq)).first()
                out.append({"kommun": r.kommun, "seq": r.seq, "count": counts.get(r.kommun, 0), "hash": r.hash,
                            "base_seq": r.base_seq, "base_hash": r.base_hash,
                            "head_level": last.level if last else None,
                            "head_day": last.day.isoformat() if last else None, "at": at,
                            "signed_from": r.signed_from})
                if self.signer:
                    out[-1] |= {"key_id": self.signer.key_id, "mac": self.signer.checkpoint_mac(
                        at, r.kommun, r.seq, r.hash, r.base_seq, r.base_hash, r.signed_from)}
            return out

    def compare_checkpoint(self, heads: Iterable[CheckpointHead],
                           kept: Callable[[str, dt.date], bool] | None = None) -> dict[str, str | None]:
        """Per exported head, why the store no longer matches it (None: it does)."""
        out = {}
        with self.engine.connect() as conn:
            for cp in heads:
                head = _head(conn, cp.kommun, lock=False)
                at = conn.execute(select(records.c.hash).where(records.c.kommun == cp.kommun,
                                                               records.c.seq == cp.seq)).scalar()
                out[cp.kommun] = check_against_checkpoint(cp, head, at, kept)
        return out

    # ------------------------------------------------------------------ reading

    def export_person(self, personnummer: str, kommuner: list[str] | None = None) -> list[dict[str, Any]]:
        """Partsinsyn: every individual-level record of one person (the other levels are unlinkable)."""
        q = select(records.c.body).where(
            records.c.personnummer == personnummer, records.c.level == "individual", records.c.purged_at.is_(None)
        ).order_by(records.c.kommun, records.c.seq)
        if kommuner is not None:
            q = q.where(records.c.kommun.in_(kommuner))
        with self.engine.connect() as conn:
            return [json.loads(r[0]) for r in conn.execute(q)]

    def rows_for_stats(self, kommun: str, start: dt.date, end: dt.date) -> list[tuple[str, str, dt.date, dict]]:
        """(level, insats, day, body) of the decision records of a kommun in a period (content kept)."""
        q = select(records.c.level, records.c.insats_id, records.c.day, records.c.body).where(
            records.c.kommun == kommun, records.c.step == "decision", records.c.day >= start,
            records.c.day <= end, records.c.purged_at.is_(None),
        )
        waiting = select(staged.c.level, staged.c.insats_id, staged.c.day, staged.c.body).where(
            staged.c.kommun == kommun, staged.c.step == "decision", staged.c.day >= start, staged.c.day <= end)
        with self.engine.connect() as conn:
            return [(r.level, r.insats_id, r.day, json.loads(r.body)) for q_ in (q, waiting) for r in conn.execute(q_)]

    def decisions_for(self, request_ids: list[str], keys: LinkKeys | None = None
                      ) -> dict[str, tuple[str, str | None, dt.date]]:
        """request id → (level, personnummer, day) of its documented decision (one query).

        With ``keys`` a 14 kap 4–5 § decision is found under its keyed id too (only the key holder can).
        """
        if not request_ids:
            return {}
        wanted = {c: rid for rid in request_ids
                  for c in (keys.candidates(rid, "decision") if keys else [str(rid)])}
        q = select(records.c.request_id, records.c.level, records.c.personnummer, records.c.day).where(
            records.c.request_id.in_(list(wanted)), records.c.step == "decision"
        )
        waiting = select(staged.c.request_id, staged.c.level, staged.c.day).where(
            staged.c.request_id.in_(list(wanted)), staged.c.step == "decision")
        with self.engine.connect() as conn:
            found = {wanted[r.request_id]: (r.level, r.personnummer, r.day) for r in conn.execute(q)}
            found.update({wanted[r.request_id]: (r.level, None, r.day) for r in conn.execute(waiting)})
            return found

    def coverage_entries(self, kommun: str | None, start: dt.date, end: dt.date
                         ) -> list[tuple[str, str, str, str | None]]:
        """(kommun, channel, step, information status) of every kept record in a period, read from
        the hash-covered body (not from a column an editor could change unseen)."""
        q = select(records.c.kommun, records.c.step, records.c.body).where(
            records.c.day >= start, records.c.day <= end, records.c.purged_at.is_(None))
        if kommun is not None:
            q = q.where(records.c.kommun == kommun)
        waiting = select(staged.c.kommun, staged.c.step, staged.c.body).where(staged.c.day >= start,
                                                                               staged.c.day <= end)
        if kommun is not None:
            waiting = waiting.where(staged.c.kommun == kommun)
        out = []
        with self.engine.connect() as conn:
            for r in [*conn.execute(q.execution_options(yield_per=5000)), *conn.execute(waiting)]:
                body = json.loads(r.body)
                info = body.get("information") or {}
                out.append((r.kommun, str(body.get("channel", "?")), r.step, info.get("status")))
        return out

    def count(self, **where: str) -> int:
        """Number of records matching equality filters (tests and ops)."""
        q = select(func.count()).select_from(records)
        for k, v in where.items():
            q = q.where(records.c[k] == v)
        w = None
        if all(k in staged.c for k in where):  # staged 14 kap 4–5 § records count too
            w = select(func.count()).select_from(staged)
            for k, v in where.items():
                w = w.where(staged.c[k] == v)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0) + (int(conn.execute(w).scalar() or 0) if w is not None else 0)
