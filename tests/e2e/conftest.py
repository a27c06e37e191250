"""The system as real processes: a private durable redis-server and the four services."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from iub_runtime.processes import RedisServer, System, free_port, wait_until
from iub_runtime.signing import generate

E2E_ENV = {
    "IUB_CLAIM_IDLE_MS": "1000",
    "IUB_MAX_DELIVERIES": "5",
    "IUB_LOG_JSON": "true",
    "IUB_DELIVERY_RETRIES": "2",
    "IUB_DELIVERY_BASE_DELAY_S": "0.05",
    "IUB_AUTH_DISABLED": "true",  # intake's explicit development mode: the e2e tests test the pipeline
    "IUB_SIGNING_SECRET": generate(),  # notify refuses to start without one (never a default)
    "IUB_CALLBACK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',  # the tests' callback receivers are local (explicit)
}


@dataclass
class Running:
    """A running system and where to reach it."""

    system: System
    redis: RedisServer
    base_url: str
    var_dir: Path

    @property
    def audit_db_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'audit.sqlite3'}"


def start_system(extra_env: dict[str, str] | None = None, processes: int = 1) -> Running:
    """Start redis + services and wait until intake answers /health."""
    tmp = Path(tempfile.mkdtemp(prefix="iub-e2e-"))
    server = RedisServer(data_dir=tmp / "redis").start()
    port = free_port()
    system = System(
        redis_url=server.url,
        env={**E2E_ENV, "IUB_VAR_DIR": str(tmp), **(extra_env or {})},
        http_port=port,
        processes_per_service=processes,
        log_dir=tmp / "logs",
    ).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=1).json()["ok"], 60, what="intake health")
    except Exception:
        system.stop()
        server.stop()
        raise
    return Running(system=system, redis=server, base_url=base, var_dir=tmp)


def stop_system(r: Running) -> None:
    """Stop services and redis, remove the temp dir."""
    r.system.stop()
    r.redis.stop()
    shutil.rmtree(r.var_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    """One system per test module."""
    r = start_system()
    try:
        yield r
    finally:
        stop_system(r)


@pytest.fixture
def api_headers() -> dict[str, str]:
    """Headers an authorised app backend sends."""
    return {}
