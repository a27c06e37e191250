"""Issue 14 (7): `iub up` works the first time — readiness with progress, prefixed logs, health and
metrics on every service, the Kundcenter channel end to end to a local reply sink, partsinsyn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from iub_runtime import webhooks
from iub_runtime.processes import free_port

pytestmark = pytest.mark.e2e


class Output:
    """`iub up`'s terminal, read in a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in iter(proc.stdout.readline, ""):
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout}s; output:\n" + "\n".join(self.lines[-60:]))


def free_block(n: int) -> int:
    """A first port with the n ports after it free (iub up numbers its services from it)."""
    for _ in range(50):
        base = free_port()
        if base + n < 65000 and all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_iub_up_runs_the_kundcenter_channel_end_to_end_with_prefixed_logs(tmp_path: Path) -> None:
    port = free_block(6)
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "IUB_CLIENTS_FILE", "IUB_CLIENTS_JSON", "IUB_TELEPHONY_REPLY_URL",
                        "IUB_DEV_WEBHOOK_SECRET", "IUB_SIGNING_SECRET")}
    env.update({"IUB_REDIS_PORT": str(free_port()), "NO_COLOR": "1", "IUB_CLAIM_IDLE_MS": "1000"})
    iub = Path(sys.executable).with_name("iub")
    proc = subprocess.Popen([str(iub), "up", "--port", str(port), "--var-dir", str(tmp_path / "var")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = Output(proc)
    try:
        out.wait_for("Ctrl-C stops everything")
        text = "\n".join(out.lines)
        # readiness with progress, and each service's own log lines prefixed with its name
        for name in ("intake", "eligibility", "audit", "notify"):
            assert f"✓ {name} ready" in text
            assert any(line.startswith(f"{name:<14}| ") for line in out.lines), f"no prefixed line of {name}"
        secrets_file = tmp_path / "var" / "secrets" / "run.env"
        assert f"IUB_DEV_WEBHOOK_SECRET (in {secrets_file})" in text  # where the run's secret is, never the secret
        run_env = dict(line.split("=", 1) for line in secrets_file.read_text().splitlines())
        dev_webhook_secret = run_env["IUB_DEV_WEBHOOK_SECRET"]
        assert dev_webhook_secret not in text

        # eligibility and notify: liveness, readiness and metrics (with FastStream's own series)
        for service_port in (port + 3, port + 4):
            assert httpx.get(f"http://127.0.0.1:{service_port}/health/live", timeout=5).status_code == 200
            assert httpx.get(f"http://127.0.0.1:{service_port}/health/ready", timeout=5).json()["ok"] is True
            assert "iub_stream_lag" in httpx.get(f"http://127.0.0.1:{service_port}/metrics", timeout=5).text

        # a Kundcenter agent form, signed with the dev webhook secret the README names
        event = {"type": "agent.form_submitted", "call_ref": f"call-{uuid.uuid4().hex[:8]}",
                 "occurred_at": "2025-09-05T10:00:00+00:00", "agent_id": "agent-7",
                 "form": {"kommun": "sala", "insats_id": "budgetradgivning", "facts": {}}}
        body = json.dumps(event).encode()
        msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
        resp = httpx.post(f"http://127.0.0.1:{port}/v1/telephony/events", content=body, timeout=10, headers={
            "content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": webhooks.sign(dev_webhook_secret, msg_id, ts, body)})
        assert resp.status_code == 202, resp.text
        rid = resp.json()["request_id"]
        out.wait_for(f"information.given for request {rid} (signature verified)", timeout=60)
        sink = httpx.get(f"http://127.0.0.1:{port + 5}/", timeout=5).json()
        assert [r["request_id"] for r in sink["received"]] == [rid]
        deadline = time.monotonic() + 30
        while (status := httpx.get(f"http://127.0.0.1:{port}/v1/requests/{rid}", timeout=5).json()["status"]) \
                != "informed" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == "informed"  # not information_failed / no_telephony_reply_url
        assert event["call_ref"] not in "\n".join(out.lines)  # the call reference stays off the terminal

        # operators are told the truth: the drained system is OK with lag 0 (from ids), no dead letters
        ops_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{env['IUB_REDIS_PORT']}/0"}
        deadline = time.monotonic() + 30
        while True:
            status_run = subprocess.run([str(iub), "ops", "status", "--json", "--max-lag", "0"], env=ops_env,
                                        capture_output=True, text=True, timeout=30)
            if status_run.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status_run.returncode == 0, status_run.stdout[-3000:]
        snapshot = json.loads(status_run.stdout)
        assert snapshot["ok"] and snapshot["information"]["delivered"] >= 1 and snapshot["information"]["failed"] == 0

        # the services' minute housekeeping: heartbeats, and the AOF rewritten after the trims (issue 13 (4))
        import redis as redis_sync

        from iub_runtime.streams import AOF_REWRITE_KEY

        client = redis_sync.Redis.from_url(ops_env["REDIS_URL"])
        try:
            assert client.exists(AOF_REWRITE_KEY) and client.info("persistence")["aof_rewrites"] >= 1
            assert len(client.keys("iub:alive:*")) == 4  # one heartbeat per service process
        finally:
            client.close()

        # partsinsyn answers with the per-run development key (not 503 "not configured")
        key = (tmp_path / "var" / "dev-insyn-key.txt").read_text().strip()
        insyn = httpx.post(f"http://127.0.0.1:{port + 2}/v1/insyn", json={"personnummer": "191212121212"},
                           headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert insyn.status_code == 200, insyn.text
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0
    out.wait_for("stopped.", timeout=5)
