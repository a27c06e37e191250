"""The tamper-evident hash chain: each record's hash covers its canonical JSON and the previous hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical_json(body: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, kommun: str, seq: int, canonical: str) -> str:
    """SHA-256 over previous hash, position in the kommun's chain and the canonical record."""
    h = hashlib.sha256()
    for part in (prev_hash, kommun, str(seq), canonical):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def first_broken_link(rows: list[tuple[int, str | None, str, str]], kommun: str, start_prev: str = GENESIS,
                      start_seq: int = 1) -> int | None:
    """Given (seq, canonical, prev_hash, hash) in seq order, the first seq whose link is broken.

    A purged record (canonical None, gallring) cannot be recomputed; its stored hash is trusted
    only as far as the next record's prev_hash confirms it, so altering it still breaks the chain.
    """
    prev = start_prev
    expected_seq = start_seq
    for seq, canonical, prev_hash, stored in rows:
        recomputed = stored if canonical is None else chain_hash(prev, kommun, seq, canonical)
        if seq != expected_seq or prev_hash != prev or recomputed != stored:
            return seq if seq == expected_seq else expected_seq
        prev = stored
        expected_seq += 1
    return None
