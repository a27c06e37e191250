"""Signing secrets are never defaults: a service refuses to start with an empty, placeholder or short one.

Outside explicit development mode (IUB_DEV_MODE=true, or intake's IUB_AUTH_DISABLED=true) a
missing or weak secret stops the service with a message naming the setting, never the value.
In development mode a missing secret is replaced by a random one for this process (and said so).
"""

from __future__ import annotations

import base64
import binascii
import secrets

MIN_BYTES = 16
# values that have shipped in examples, docs or code, and the usual placeholders
KNOWN_DEFAULTS = frozenset({
    "dev-only-change-me", "dev-webhook-secret-change-me", "change-me", "changeme", "secret", "password",
    "CHANGE-ME-long-random-signing-secret", "whsec_", "test", "example",
})
PLACEHOLDER_MARKS = ("change-me", "changeme", "change_me", "replace-me", "placeholder", "dev-only")


class InsecureSecret(RuntimeError):
    """A signing secret is missing or a default; the message names the setting, never the value."""


def generate() -> str:
    """A fresh Standard Webhooks secret: 'whsec_' + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_problem(value: str | None) -> str | None:
    """Why a secret may not be used (empty, a known default or placeholder, too short), or None."""
    if not value or not value.strip():
        return "is empty"
    if value in KNOWN_DEFAULTS or any(mark in value.lower() for mark in PLACEHOLDER_MARKS):
        return "is a default or placeholder value"
    if value.startswith("whsec_"):
        try:
            key = base64.b64decode(value[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            return "is not valid base64 after 'whsec_'"
    else:
        key = value.encode("utf-8")
    if len(key) < MIN_BYTES:
        return f"is shorter than {MIN_BYTES} bytes"
    if len(set(key)) < 4:
        return "is not random"
    return None


def require_secret(value: str | None, *, setting: str, development: bool) -> tuple[str, bool]:
    """The secret to use and whether it was generated for this process (development mode only)."""
    problem = secret_problem(value)
    if problem is None:
        return value or "", False
    if development:
        return (value, False) if value else (generate(), True)
    raise InsecureSecret(
        f"{setting} {problem}: set a long random secret (e.g. `python -c \"from iub_runtime.signing import "
        f"generate; print(generate())\"`), or IUB_DEV_MODE=true for local development only"
    )
