"""Signing secrets are never defaults (issue 13, point 7): refused outside explicit development mode."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from iub_runtime.signing import InsecureSecret, generate, require_secret, secret_problem

WEAK = [None, "", "   ", "dev-only-change-me", "dev-webhook-secret-change-me", "CHANGE-ME-long-random-signing-secret",
        "tiny1", "aaaaaaaaaaaaaaaaaaaaaaaa", "whsec_", "whsec_not-base64!!", "whsec_" + "YWJj",
        "my-secret-change-me-please"]


@pytest.mark.parametrize("value", WEAK)
def test_an_empty_default_or_weak_secret_is_refused_outside_development(value):
    assert secret_problem(value) is not None
    with pytest.raises(InsecureSecret) as exc:
        require_secret(value, setting="IUB_SIGNING_SECRET", development=False)
    assert "IUB_SIGNING_SECRET" in str(exc.value)
    if value and value.strip():
        assert value not in str(exc.value)


def test_development_mode_accepts_or_generates_one():
    assert require_secret("dev-only-change-me", setting="X", development=True) == ("dev-only-change-me", False)
    secret, generated = require_secret(None, setting="X", development=True)
    assert generated and secret_problem(secret) is None


def test_a_generated_secret_passes_and_is_new_each_time():
    a, b = generate(), generate()
    assert a != b and secret_problem(a) is None
    assert require_secret(a, setting="X", development=False) == (a, False)


@pytest.mark.parametrize("service", ["iub_notify"])
def test_the_service_refuses_to_start_without_a_signing_secret(service, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IUB_")}
    env.update({"REDIS_URL": "redis://127.0.0.1:1/0", "IUB_VAR_DIR": str(tmp_path)})
    for value in ("", "dev-only-change-me"):
        env["IUB_SIGNING_SECRET"] = value
        done = subprocess.run([sys.executable, "-m", service], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "IUB_SIGNING_SECRET" in done.stderr and "IUB_DEV_MODE" in done.stderr
