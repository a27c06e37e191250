"""Issue 13 (4): after gallring the purged records are gone from the database files (VACUUM)."""

from __future__ import annotations

from pathlib import Path

from audit_support import INDIVIDUAL, NOW, PNR, write
from sqlalchemy import text
from typer.testing import CliRunner

from iub_cli.audit_cmd import audit_app

runner = CliRunner()


def files_of(url: str) -> list[Path]:
    db = Path(url.removeprefix("sqlite:///"))
    return [p for p in (db, Path(f"{db}-wal")) if p.exists()]


def test_purged_personnummer_leave_the_sqlite_files_and_the_postgres_table_is_rewritten(store, store_url,
                                                                                        monkeypatch):
    write(store, INDIVIDUAL, 5)
    sqlite = store.engine.dialect.name == "sqlite"
    if sqlite:
        assert any(PNR.encode() in p.read_bytes() for p in files_of(store_url))
    else:
        with store.engine.connect() as c:
            before = c.execute(text("SELECT pg_relation_filenode('audit_records')")).scalar()
    monkeypatch.setenv("IUB_RETENTION_DAYS_INDIVIDUAL", "1")
    r = runner.invoke(audit_app, ["purge", "--before", NOW.date().replace(month=10).isoformat(), "--yes",
                                  "--database-url", store_url])
    assert r.exit_code == 0, r.output
    assert "5 poster gallrade" in r.output and "omskrivna" in r.output
    if sqlite:
        store.engine.dispose()
        hits = sum(PNR.encode() in p.read_bytes() for p in files_of(store_url))
        print(f"sqlite files holding the purged personnummer after VACUUM: {hits}")
        assert hits == 0
    else:
        with store.engine.connect() as c:
            after = c.execute(text("SELECT pg_relation_filenode('audit_records')")).scalar()
            dead = c.execute(text("SELECT count(*) FROM audit_records")).scalar()
        assert after != before  # VACUUM FULL wrote the table anew: the old file with the rows is gone
        assert dead == 0
