"""The operator dashboard end to end: uvicorn on a free port, real Redis, headless Chromium."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from redis.asyncio import Redis

from iub_contracts import streams
from iub_contracts.messages import DeadLetter
from iub_intake.ops_dashboard import build_ops_router
from iub_runtime.processes import free_port, wait_until

pytestmark = [pytest.mark.redis]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
PNR = "199001011234"


def require_chromium() -> Path:
    """Chromium, or a skip with the reason — except in CI, where a missing browser fails."""
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/install-system-deps.sh)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the dashboard browser test; {reason}")
    pytest.skip(reason)


def seed(url: str) -> None:
    """The contract groups, a request pending in eligibility and one dead letter holding a personnummer."""
    client = redis.Redis.from_url(url)
    for stream, groups in streams.CONSUMERS.items():
        for group in groups:
            client.xgroup_create(stream, group, id="0", mkstream=True)
    client.xadd(streams.REQUESTS, {"__data__": json.dumps({"facts": {"personnummer": PNR}})})
    client.xreadgroup(streams.GROUP_ELIGIBILITY, "host-1", {streams.REQUESTS: ">"}, count=1)
    letter = DeadLetter(stream=streams.DECISIONS, group=streams.GROUP_NOTIFY, entry_id="1-0", deliveries=6,
                        error_type="DeliveryFailed", dead_lettered_at=dt.datetime.now(dt.UTC),
                        payload=json.dumps({"facts": {"personnummer": PNR}}))
    client.xadd(streams.dead_letter_stream(streams.DECISIONS), {"__data__": letter.model_dump_json()})
    for status in ("delivered", "failed"):
        client.xadd(streams.INFORMATION, {"__data__": json.dumps({"status": status})})
    client.close()


def make_app(url: str, allowed: bool = True) -> FastAPI:
    """A small app with only the ops router; the Redis client lives in the server's event loop."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.redis = Redis.from_url(url)
        yield
        await app.state.redis.aclose()

    def get_redis(request: Request) -> Redis:
        return request.app.state.redis

    def authorize() -> None:
        if not allowed:
            raise HTTPException(401, "operator credential required")

    app = FastAPI(lifespan=lifespan)
    # the default thresholds: any dead letter or failed information is not OK
    app.include_router(build_ops_router(get_redis, authorize, refresh_s=2))
    return app


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve an app with uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 15, what="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def dump_dom(url: str, budget_ms: int = 5000, timeout_s: float = 90) -> str:
    """The DOM of a page after its scripts ran for a virtual time budget, from a fresh profile."""
    profile = tempfile.mkdtemp(prefix="iub-chromium-")
    argv = [str(require_chromium()), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
    # own process group: on a timeout the browser's helper processes go too
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {timeout_s}s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, err[-2000:]
    return out


def test_the_dashboard_shows_every_stream_in_headless_chromium(clean_redis: str) -> None:
    require_chromium()
    seed(clean_redis)
    with serve(make_app(clean_redis)) as base:
        dom = dump_dom(f"{base}/ops")
    assert 'data-loaded="true"' in dom, "the page's script did not load /ops/status.json"
    shown = re.findall(r'<td class="stream">([^<]+)</td>', dom)
    assert shown == list(streams.ALL_STREAMS)
    assert "DeliveryFailed" in dom
    assert "dead_letters 1 &gt; 0" in dom
    assert "information_failed 1 &gt; 0" in dom
    assert re.search(r'<p id="state" class="error">', dom), "not OK is shown in red"
    assert re.search(r'<td id="information-failed" class="n bad">1</td>', dom)
    assert PNR not in dom


def test_the_status_json_lists_groups_and_dead_letters_without_payloads(clean_redis: str) -> None:
    seed(clean_redis)
    with serve(make_app(clean_redis)) as base:
        r = httpx.get(f"{base}/ops/status.json", timeout=10)
    assert r.status_code == 200
    data = r.json()
    requests = next(s for s in data["streams"] if s["name"] == streams.REQUESTS)
    assert requests["groups"][0]["pending"] == 1
    assert data["ok"] is False
    assert [d["error_type"] for d in data["dead_letters"]] == ["DeliveryFailed"]
    assert PNR not in r.text
    assert r.headers["cache-control"] == "no-store"


def test_the_dashboard_page_allows_only_its_own_inline_script(clean_redis: str) -> None:
    with serve(make_app(clean_redis)) as base:
        r = httpx.get(f"{base}/ops", timeout=10)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("path", ["/ops", "/ops/status.json"])
def test_the_dashboard_refuses_without_the_operator_credential(clean_redis: str, path: str) -> None:
    with serve(make_app(clean_redis, allowed=False)) as base:
        r = httpx.get(f"{base}{path}", timeout=10)
    assert r.status_code == 401


# ---------------------------------------------------------------- /docs and /redoc offline (issue 14 (7))

OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]  # no CDN can answer


def dump_offline(url: str, budget_ms: int = 15000) -> str:
    """The DOM of a page in a Chromium that can reach nothing but the loopback."""
    CHROMIUM_FLAGS.extend(OFFLINE)
    try:
        return dump_dom(url, budget_ms=budget_ms)
    finally:
        del CHROMIUM_FLAGS[-len(OFFLINE):]


@pytest.fixture
def intake_app(clean_redis: str):
    from intake_support import make_settings, registry

    from iub_intake.app import create_api

    # the API description public by setting (IUB_DOCS_PUBLIC); it is private by default in production
    return create_api(make_settings(clean_redis).model_copy(update={"docs_public": True}), registry())


def test_swagger_ui_renders_every_operation_offline(intake_app) -> None:
    require_chromium()
    with serve(intake_app) as base:
        page = httpx.get(f"{base}/docs").text
        assert "cdn" not in page.lower() and "https://" not in page  # every asset from this server
        assert httpx.get(f"{base}/docs-assets/swagger-ui-bundle.js").status_code == 200
        dom = dump_offline(f"{base}/docs")
    paths = set(re.findall(r'class="opblock-summary-path"[^>]*data-path="([^"]+)"', dom))
    assert {"/v1/requests", "/v1/requests/{request_id}", "/v1/telephony/events", "/v1/kommuner"} <= paths, paths
    assert 'class="opblock opblock-post' in dom


def test_redoc_renders_the_operations_offline(intake_app) -> None:
    require_chromium()
    with serve(intake_app) as base:
        page = httpx.get(f"{base}/redoc").text
        assert "fonts.googleapis" not in page and "cdn" not in page.lower()
        dom = dump_offline(f"{base}/redoc")
    assert "redoc-wrap" in dom or "api-content" in dom, "ReDoc did not render"
    for path in ("/v1/requests", "/v1/telephony/events"):
        assert path in dom
