"""Keyed anchors of the hash chain (pure): what an attacker with database access cannot recompute.

The SHA-256 chain alone is recomputable by anyone who can write the database: a forged record
with a correct hash and head, or a truncated chain with a rewritten head, verifies. So every
record, every chain head (which holds the base that gallring moves) and every exported
checkpoint also carries an HMAC-SHA256 under a key held outside the database
(IUB_AUDIT_CHAIN_KEY or IUB_AUDIT_CHAIN_KEY_FILE). The record MAC covers the position,
hash version, hash, creation time and gallring mark, so renumbering, downgrading to the
version 1 hash, back-dating and marking a record gallrad all need the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

DEV_KEY = "iub-dev-only-chain-key-never-in-production"
MIN_KEY_CHARS = 32


def epoch(ts: dt.datetime | None) -> str:
    """Whole seconds since the epoch (naive = UTC, as SQLite returns it), '-' for none."""
    if ts is None:
        return "-"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return str(int(ts.timestamp()))


@dataclass(frozen=True)
class Signer:
    """HMAC-SHA256 under the chain key; ``key_id`` names the key without revealing it."""

    key: bytes

    @property
    def key_id(self) -> str:
        """A short fingerprint of the key (for checkpoints and error messages)."""
        return hashlib.sha256(b"iub-key-id\x1f" + self.key).hexdigest()[:12]

    def _mac(self, tag: str, *parts: object) -> str:
        msg = "\x1f".join([tag, *(str(p) for p in parts)]).encode("utf-8")
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()

    def record_mac(self, kommun: str, seq: int, version: int, hash_: str, created_at: dt.datetime | None,
                   purged_at: dt.datetime | None) -> str:
        """The MAC of one stored record (its gallring mark included)."""
        return self._mac("record", kommun, seq, version, hash_, epoch(created_at), epoch(purged_at))

    def head_mac(self, kommun: str, seq: int, hash_: str, base_seq: int, base_hash: str, signed_from: int) -> str:
        """The MAC of a chain head: last position and hash, and the base gallring moved it to."""
        return self._mac("head", kommun, seq, hash_, base_seq, base_hash, signed_from)

    def checkpoint_mac(self, at: str, kommun: str, seq: int, hash_: str, base_seq: int, base_hash: str,
                       signed_from: int) -> str:
        """The MAC of one exported checkpoint line."""
        return self._mac("checkpoint", at, kommun, seq, hash_, base_seq, base_hash, signed_from)

    def staged_mac(self, record_id: str, step: str, kommun: str, content_sha256: str) -> str:
        """The MAC of a 14 kap 4–5 § record waiting for its hour to end (before it joins the chain)."""
        return self._mac("staged", record_id, step, kommun, content_sha256)

    def verify(self, mac: str | None, expected: str) -> bool:
        """Constant-time comparison (a missing MAC never matches)."""
        return mac is not None and hmac.compare_digest(mac, expected)
