"""Standard Webhooks signatures: HMAC-SHA256 over ``id.timestamp.body``, base64, ``v1,`` prefix.

Used to verify the telephony platform's events (intake) and to sign app callbacks (notify).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TOLERANCE_S = 300


class SignatureError(Exception):
    """The webhook signature is missing, malformed, stale, from the future or wrong."""


def _key(secret: str) -> bytes:
    # Standard Webhooks secrets are 'whsec_' + base64; plain strings are used as they are
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for a message."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(
    secret: str, msg_id: str | None, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> None:
    """Raise SignatureError unless one of the signatures matches within the time tolerance."""
    if not msg_id or not timestamp or not signature:
        raise SignatureError("missing webhook headers")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("malformed timestamp") from None
    if ts < now - TOLERANCE_S:
        raise SignatureError("timestamp too old")
    if ts > now + TOLERANCE_S:
        raise SignatureError("timestamp in the future")
    expected = sign(secret, msg_id, ts, body).split(",", 1)[1].encode()
    for candidate in signature.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise SignatureError("no matching signature")
