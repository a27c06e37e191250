"""Audit test fixtures: the same store code against SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # audit_support, shared by the test modules

from iub_audit.store import AuditStore, make_engine, migrate  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> AuditStore:
    """An empty migrated audit store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    migrate(engine)
    store = AuditStore(engine)
    if request.param == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_records, audit_chain_heads")
    return store


