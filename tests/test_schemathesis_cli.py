"""`schemathesis run --checks all` against intake's and audit's OpenAPI, served by the real processes.

The same command an outside checker runs, with the repo's schemathesis.toml: every check
(positive and negative data, status codes, content types, headers, response schemas, auth,
unsupported methods, stateful links). The figures (operations, generated, passed) are printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from iub_runtime.auth import Operation, hash_key, new_key
from iub_runtime.processes import ServiceProcess, free_port, service_argv, wait_until
from iub_runtime.signing import generate

pytestmark = [pytest.mark.schemathesis, pytest.mark.e2e, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = os.environ.get("IUB_SCHEMATHESIS_CLI_EXAMPLES", "100")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.parametrize("service", ["intake", "audit"])
def test_schemathesis_with_every_check_finds_nothing(service, clean_redis, tmp_path):
    key = new_key()
    clients = {"clients": [{"id": "checker", "name": "checker", "key_sha256": [hash_key(key)], "kommuner": ["*"],
                            "operations": [o.value for o in Operation if not o.value.startswith("provider:")],
                            "rate_per_minute": 10**9,
                            "webhook_secret": generate()}]}
    (tmp_path / "clients.json").write_text(json.dumps(clients))
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("IUB_")}, "REDIS_URL": clean_redis,
           "IUB_CLIENTS_FILE": str(tmp_path / "clients.json"), "IUB_VAR_DIR": str(tmp_path),
           "IUB_LOG_JSON": "true", "IUB_INSYN_RATE_PER_MINUTE": "1000000000",
           "IUB_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
           "IUB_AUDIT_CHAIN_KEY": generate(), "IUB_AUDIT_LINK_KEY": generate(),
           "IUB_PORT" if service == "intake" else "IUB_AUDIT_PORT": str(port)}
    proc = ServiceProcess(name=service, argv=service_argv(service), env=env, log_path=tmp_path / "service.log").start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200, 60, what=f"{service} /health")
        done = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", "all", "-H", f"Authorization: Bearer {key}",
             "-n", EXAMPLES, "--generation-deterministic", "--no-color"],
            cwd=ROOT, capture_output=True, text=True, timeout=240)
    finally:
        proc.stop()
    out = done.stdout + done.stderr
    counts = re.search(r"(\d+) generated, (\d+) passed", out)
    operations = re.search(r"Selected: (\d+)/(\d+)", out)
    print(f"schemathesis --checks all {service}: {operations.group(1) if operations else '?'} operations, "
          f"{counts.group(1) if counts else '?'} generated, {counts.group(2) if counts else '?'} passed")
    assert done.returncode == 0, out[out.find("FAILURES"):][:6000]
    assert counts is not None and counts.group(1) == counts.group(2), out[-3000:]
