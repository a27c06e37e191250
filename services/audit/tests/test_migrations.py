"""Versioned migrations: a store written before migration 3 upgrades in place and still verifies."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from audit_support import INDIVIDUAL, NOW, write
from sqlalchemy import text

from iub_audit.domain.chain import GENESIS, canonical_json, chain_hash_v1
from iub_audit.schema import MIGRATIONS
from iub_audit.store import AuditStore, make_engine, migrate

# the schema as migrations 1 and 2 left it (before hash version 2)
LEGACY = [
    "CREATE TABLE audit_schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)",
    "CREATE TABLE audit_records (id {serial} PRIMARY KEY, kommun VARCHAR(80) NOT NULL, seq INTEGER NOT NULL, "
    "request_id VARCHAR(36) NOT NULL, step VARCHAR(20) NOT NULL, level VARCHAR(20) NOT NULL, "
    "insats_id VARCHAR(120) NOT NULL, day DATE NOT NULL, personnummer VARCHAR(12), body TEXT NOT NULL, "
    "prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL, created_at TIMESTAMP NOT NULL, "
    "purged_at TIMESTAMP, CONSTRAINT uq_audit_request_step UNIQUE (request_id, step), "
    "CONSTRAINT uq_audit_kommun_seq UNIQUE (kommun, seq))",
    "CREATE TABLE audit_chain_heads (kommun VARCHAR(80) PRIMARY KEY, seq INTEGER NOT NULL, "
    "hash VARCHAR(64) NOT NULL, base_seq INTEGER NOT NULL DEFAULT 0, base_hash VARCHAR(64) NOT NULL)",
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> str:
    """A database without audit tables: a new SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS audit_records, audit_chain_heads, audit_schema_version")
    engine.dispose()
    return url


def _legacy_store(url: str, n: int) -> None:
    """Tables at schema version 2 with n version-1 records, written the way the old code did."""
    engine = make_engine(url)
    prev = GENESIS
    with engine.begin() as conn:
        serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
        for sql in LEGACY:
            conn.execute(text(sql.replace("{serial}", serial)))
        for v in (1, 2):
            conn.execute(text("INSERT INTO audit_schema_version VALUES (:v, :at)"), {"v": v, "at": NOW})
        for seq in range(1, n + 1):
            body = {"request_id": f"00000000-0000-4000-8000-{seq:012d}", "step": "decision", "kommun": "ostersund",
                    "insats_id": "akutboendet", "day": "2025-09-01", "channel": "app", "level": "advisory",
                    "topic": "boende"}
            canonical = canonical_json(body)
            h = chain_hash_v1(prev, "ostersund", seq, canonical)
            conn.execute(text(
                "INSERT INTO audit_records (kommun, seq, request_id, step, level, insats_id, day, body, prev_hash, "
                "hash, created_at) VALUES ('ostersund', :seq, :rid, 'decision', 'advisory', 'akutboendet', "
                ":day, :body, :prev, :h, :at)"),
                {"seq": seq, "rid": body["request_id"], "day": dt.date(2025, 9, 1), "body": canonical, "prev": prev,
                 "h": h, "at": NOW})
            prev = h
        conn.execute(text("INSERT INTO audit_chain_heads VALUES ('ostersund', :n, :h, 0, :g)"),
                     {"n": n, "h": prev, "g": GENESIS})
    engine.dispose()


def test_migrations_are_an_ordered_append_only_list():
    versions = [v for v, _ in MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_a_store_from_before_hash_version_2_upgrades_and_still_verifies(empty_url):
    _legacy_store(empty_url, 3)
    engine = make_engine(empty_url)
    assert migrate(engine) == len(MIGRATIONS)
    assert migrate(engine) == len(MIGRATIONS)  # a second run does nothing
    store = AuditStore(engine)
    assert store.verify() == {"ostersund": None}
    write(store, INDIVIDUAL, 2)  # version 2 records continue the version 1 chain
    assert store.verify() == {"ostersund": None}
    with engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT hash_version FROM audit_records ORDER BY seq"))]
        applied = [r[0] for r in conn.execute(text("SELECT version FROM audit_schema_version ORDER BY version"))]
    assert versions == [1, 1, 1, 2, 2]
    assert applied == [v for v, _ in MIGRATIONS]
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET body = replace(body, 'boende', 'annat') WHERE seq = 2"))
    assert store.verify()["ostersund"].seq == 2
    engine.dispose()


def test_a_fresh_database_gets_every_migration(empty_url):
    engine = make_engine(empty_url)
    migrate(engine)
    with engine.connect() as conn:
        applied = [r[0] for r in conn.execute(text("SELECT version FROM audit_schema_version ORDER BY version"))]
    assert applied == [v for v, _ in MIGRATIONS]
    store = AuditStore(engine)
    write(store, INDIVIDUAL, 1)
    assert json.loads(json.dumps(store.checkpoint()))[0]["seq"] == 1
    engine.dispose()


def test_a_chain_from_before_the_chain_key_is_adopted_and_signed_from_then_on(empty_url):
    from audit_support import SIGNER

    _legacy_store(empty_url, 3)
    engine = make_engine(empty_url)
    migrate(engine)
    signed = AuditStore(engine, SIGNER)
    assert "signerat" in signed.verify()["ostersund"].reason  # an unsigned head is not accepted as it is
    assert signed.adopt_unsigned() == ["ostersund"]
    assert signed.adopt_unsigned() == []  # once
    write(signed, INDIVIDUAL, 2)
    assert signed.verify() == {"ostersund": None}
    [head] = signed.checkpoint()
    assert head["signed_from"] == 4
    with engine.begin() as conn:  # a new record without its MAC: caught
        conn.execute(text("UPDATE audit_records SET mac = NULL WHERE seq = 5"))
    assert signed.verify()["ostersund"].seq == 5
    engine.dispose()
