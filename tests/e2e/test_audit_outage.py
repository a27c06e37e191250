"""An audit store outage delays documentation, never information (11 kap 6 §), and dead-letters nothing.

1 000 requests at about 25 a second; 10 s in, the audit store stops taking writes for 40 s:
- PostgreSQL: ``ALTER DATABASE … SET default_transaction_read_only = on`` and every session of
  the database terminated (audit reconnects into read-only sessions);
- SQLite, write lock: a separate process holds ``BEGIN EXCLUSIVE`` on the database for 40 s;
- SQLite, unwritable: the database folder, the database file and its write-ahead log made
  immutable with ``chattr +i`` (as root a chmod would not stop anyone), then mutable again. The
  ``-shm`` file is left alone: it is SQLite's shared memory (mmap'd), and a write to an immutable
  mmap'd page kills the process with SIGBUS — a crash, which the kill tests cover, not an
  unwritable store.
Every accepted request is informed while the store is down; within 5 s of it coming back every
request is documented with exactly one record per step; no dead letters, nothing lost, nothing
duplicated. ``IUB_OUTAGE_S`` / ``IUB_OUTAGE_REQUESTS`` shorten a local run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from iub_contracts import streams
from iub_runtime.processes import wait_until
from tests.e2e.conftest import start_system, stop_system
from tests.e2e.faults import (
    AuditCounts,
    dead_letters,
    entry_times,
    information_events,
    pending_total,
    percentile,
    postgres_counts,
    push,
    sqlite_counts,
    waiting,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

N = int(os.environ.get("IUB_OUTAGE_REQUESTS", "1000"))
OUTAGE_S = float(os.environ.get("IUB_OUTAGE_S", "40"))
RATE = 25.0
OUTAGE_AT_S = 10.0
DOCUMENTED_WITHIN_S = 5.0


def run_outage(name: str, extra_env: dict[str, str], break_store: Callable[[], None],
               mend_store: Callable[[], None], counts: Callable[[], AuditCounts]) -> None:
    running = start_system(extra_env)
    marks: dict[str, float] = {}
    try:
        client = redis.Redis.from_url(running.redis.url)

        def fault() -> None:
            time.sleep(OUTAGE_AT_S)
            break_store()
            marks["down"] = time.time()
            time.sleep(OUTAGE_S)
            marks["informed_at_back"] = len(information_events(client))
            mend_store()
            marks["back"] = time.time()

        t = threading.Thread(target=fault, daemon=True)
        t.start()
        accepted = asyncio.run(push(running.base_url, N, rate_per_s=RATE))
        t.join(OUTAGE_AT_S + OUTAGE_S + 60)
        assert "back" in marks, "the store was never mended"

        documented_at = None
        deadline = marks["back"] + 90
        last = AuditCounts({}, {})  # type: ignore[arg-type]
        while time.time() < deadline:
            try:
                last = counts()
            except Exception:
                last = AuditCounts({}, {})  # type: ignore[arg-type]
            if last.per_step and last.complete_for(len(accepted)):
                documented_at = time.time()
                break
            time.sleep(0.1)
        wait_until(lambda: pending_total(client) == 0 and waiting(client) == 0, 60, interval=0.2,
                   what="nothing pending, nothing waiting")

        requested = entry_times(client, streams.REQUESTS)
        info = information_events(client)
        informed_times = entry_times(client, streams.INFORMATION)
        latencies = [informed_times[r][0] - requested[r][0] for r in accepted if r in informed_times and r in requested]
        during = [informed_times[r][0] - requested[r][0] for r in accepted
                  if r in informed_times and r in requested and marks["down"] <= requested[r][0] <= marks["back"]]
        lost = [r for r in accepted if not info.get(r)]
        duplicated_info = [r for r in accepted if len(info.get(r, [])) > 1]
        duplicated_records = [k for k, v in last.per_request_step.items() if v > 1]
        recovery = (documented_at - marks["back"]) if documented_at else float("inf")
        print(f"\naudit outage [{name}]: requests={len(accepted)} outage={OUTAGE_S:.0f}s "
              f"accepted_during_outage={len(during)} informed_before_store_back={marks['informed_at_back']} "
              f"accept->information p50={percentile(latencies, 50):.2f}s p99={percentile(latencies, 99):.2f}s "
              f"(during outage p99={percentile(during, 99):.2f}s) "
              f"documented {recovery:.2f}s after the store came back "
              f"(decision={last.per_step.get('decision', 0)} information={last.per_step.get('information', 0)}) "
              f"dead_letters={dead_letters(client)} lost={len(lost)} "
              f"duplicated={len(duplicated_info) + len(duplicated_records)}")
        assert len(accepted) == N and len(set(accepted)) == N
        assert lost == [] and duplicated_info == [] and duplicated_records == []
        assert len(during) > 0.5 * RATE * OUTAGE_S * 0.5  # the outage really was in the middle of the run
        assert percentile(during, 99) < 5.0  # information did not wait for the store
        assert documented_at is not None and recovery <= DOCUMENTED_WITHIN_S
        assert dead_letters(client) == 0
        client.close()
    finally:
        if os.environ.get("IUB_KEEP_LOGS"):  # for looking into a failed run
            shutil.copytree(running.var_dir / "logs", os.environ["IUB_KEEP_LOGS"], dirs_exist_ok=True)
        stop_system(running)


def test_postgresql_read_only_for_40_s(_postgres_server_url):
    import uuid

    import psycopg

    admin = _postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    # a database of its own: the session's shared one holds other tests' records, and this test
    # counts every record and makes the whole database read-only
    db = f"iub_outage_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    postgres_url = f"{admin.rpartition('/')[0]}/{db}"

    def set_read_only(on: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{db}" SET default_transaction_read_only = {"on" if on else "off"}')
            # sessions keep the default they started with: end them, audit reconnects into the new one
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (db,))

    try:
        run_outage("PostgreSQL read-only", {"IUB_DATABASE_URL": postgres_url},
                   lambda: set_read_only(True), lambda: set_read_only(False), lambda: postgres_counts(postgres_url))
    finally:
        set_read_only(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
def sqlite_dir(tmp_path) -> Path:
    d = tmp_path / "auditdb"
    d.mkdir()
    yield d
    subprocess.run(["chattr", "-R", "-i", str(d)], check=False, capture_output=True)


def test_sqlite_write_lock_held_for_40_s(sqlite_dir):
    db = sqlite_dir / "audit.sqlite3"
    holder: dict[str, subprocess.Popen] = {}
    code = ("import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=120)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "c.execute('ROLLBACK')\n")

    def lock() -> None:
        p = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        assert p.stdout.readline().strip() == "locked"
        holder["p"] = p

    def unlock() -> None:
        p = holder["p"]
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait(30)

    try:
        run_outage("SQLite write lock", {"IUB_DATABASE_URL": f"sqlite:///{db}"}, lock, unlock,
                   lambda: sqlite_counts(db))
    finally:
        if "p" in holder and holder["p"].poll() is None:
            holder["p"].kill()


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr (e2fsprogs)")
def test_sqlite_files_unwritable_for_40_s(sqlite_dir):
    db = sqlite_dir / "audit.sqlite3"

    def chattr(flag: str) -> None:
        paths = [str(sqlite_dir), str(db), f"{db}-wal"]
        subprocess.run(["chattr", flag, *paths], check=True, capture_output=True)

    run_outage("SQLite immutable files (chattr +i)", {"IUB_DATABASE_URL": f"sqlite:///{db}"},
               lambda: chattr("+i"), lambda: chattr("-i"), lambda: sqlite_counts(db))
