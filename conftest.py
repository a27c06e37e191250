"""Fixtures shared by every test package: a real Redis and a real PostgreSQL.

Redis: TEST_REDIS_URL if set; else a testcontainers RedisContainer when a Docker engine answers;
else a redis-server binary started on a free port in a temp dir (this machine kind has no engine).
PostgreSQL: TEST_DATABASE_URL if set; else testcontainers; else a local server on 127.0.0.1:5432
if one answers; in CI a missing database fails loudly instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from iub_runtime.processes import RedisServer

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("IUB_CATALOG_DIR", str(ROOT / "catalog"))
# audit's secrets for the services tests start (never defaults: the service refuses those outside dev mode)
os.environ.setdefault("IUB_AUDIT_CHAIN_KEY", "test-chain-key-" + "c" * 32)
os.environ.setdefault("IUB_AUDIT_LINK_KEY", "test-link-key-" + "l" * 32)
os.environ.setdefault("IUB_HISTORY_KEY", "test-history-key-" + "h" * 32)


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server for the whole test session."""
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    if _docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7.0") as rc:
            yield f"redis://{rc.get_container_host_ip()}:{rc.get_exposed_port(6379)}/0"
        return
    if shutil.which("redis-server") is None:
        pytest.fail("no TEST_REDIS_URL, no Docker engine and no redis-server binary")
    tmp = Path(tempfile.mkdtemp(prefix="iub-test-redis-"))
    server = RedisServer(data_dir=tmp, durable=False).start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[str]:
    """The Redis URL with an empty database (flushed before each test)."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    yield redis_url


def _pg_answers(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def _postgres_server_url() -> Iterator[str]:
    """URL of a real PostgreSQL server (admin database)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as pg:
            yield pg.get_connection_url()
        return
    local = "postgresql://postgres@127.0.0.1:5432/test"
    if _pg_answers(local):
        yield local
        return
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL is required in CI: set TEST_DATABASE_URL")
    pytest.skip("no PostgreSQL: set TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def postgres_url(_postgres_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    import uuid

    import psycopg

    admin = _postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"iub_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
