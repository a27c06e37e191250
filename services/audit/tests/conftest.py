"""Audit test fixtures: the same store code against SQLite and PostgreSQL; the figures for the note."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # audit_support, shared by the test modules

from audit_support import FIGURES, SIGNER  # noqa: E402

from iub_audit.schema import metadata  # noqa: E402
from iub_audit.store import AuditStore, make_engine, migrate  # noqa: E402


def _fresh(url: str) -> AuditStore:
    engine = make_engine(url)
    migrate(engine)
    if engine.dialect.name == "postgresql":  # one database per session: empty it per test
        with engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(t.name for t in metadata.sorted_tables
                                                          if t.name != "audit_schema_version"))
    return AuditStore(engine, SIGNER)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> AuditStore:
    """An empty migrated audit store, once on a SQLite file and once on PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue(
        "postgres_url")
    s = _fresh(url)
    yield s
    s.engine.dispose()


@pytest.fixture
def store_url(store: AuditStore) -> str:
    """The URL of the parametrised store (for the CLI)."""
    return store.engine.url.render_as_string(hide_password=False)


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the figures the issue note asks for (records per level, canaries, tamper cases)."""
    if FIGURES:
        terminalreporter.section("audit figures")
        for key in sorted(FIGURES):
            terminalreporter.write_line(f"{key}: {FIGURES[key]}")
