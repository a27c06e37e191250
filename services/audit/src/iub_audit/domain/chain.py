"""The tamper-evident hash chain of a kommun's records, and how it is verified (pure).

Version 2 (every record written now): the hash covers the previous hash, the kommun, the
position, the record's header (request id, step, level, insats, day) and the SHA-256 of its
canonical JSON. Gallring can then drop a record's content and identity and keep the header
and content digest, and the chain still recomputes link by link. Version 1 (records written
before migration 3) hashed the canonical JSON directly; they still verify, and a version 1
record without content is vouched for by the next link only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from iub_audit.domain.signing import Signer

GENESIS = "0" * 64
CURRENT_VERSION = 2
SEP = b"\x1f"


def canonical_json(body: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of a UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(parts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(SEP)
    return h.hexdigest()


@dataclass(frozen=True)
class Header:
    """What stays of a record after gallring: never personal data."""

    request_id: str
    step: str
    level: str
    insats_id: str
    day: dt.date

    @classmethod
    def of(cls, body: dict[str, Any]) -> Header:
        """The header of a record body."""
        return cls(str(body["request_id"]), str(body["step"]), str(body["level"]), str(body["insats_id"]),
                   dt.date.fromisoformat(str(body["day"])))


def chain_hash(prev_hash: str, kommun: str, seq: int, header: Header, content_sha256: str) -> str:
    """Version 2 link: SHA-256 over previous hash, position, header and content digest."""
    return _digest([f"v{CURRENT_VERSION}", prev_hash, kommun, str(seq), header.request_id, header.step,
                    header.level, header.insats_id, header.day.isoformat(), content_sha256])


def chain_hash_v1(prev_hash: str, kommun: str, seq: int, canonical: str) -> str:
    """Version 1 link (records written before migration 3): SHA-256 over the canonical JSON."""
    return _digest([prev_hash, kommun, str(seq), canonical])


@dataclass(frozen=True)
class Link:
    """One stored record as verify reads it (body None once gallrad)."""

    seq: int
    version: int
    header: Header
    body: str | None
    content_sha256: str | None
    personnummer: str | None
    prev_hash: str
    hash: str
    mac: str | None = None
    created_at: dt.datetime | None = None
    purged_at: dt.datetime | None = None


@dataclass(frozen=True)
class Head:
    """A chain's head row: last position and hash, and where gallring left the chain's start."""

    seq: int
    hash: str
    base_seq: int = 0
    base_hash: str = GENESIS
    mac: str | None = None
    signed_from: int = 1


@dataclass(frozen=True)
class Broken:
    """The first broken link of a chain and why (no personal data)."""

    seq: int
    reason: str


def _columns_match(link: Link, kommun: str) -> bool:
    """The columns stored beside the body say what the body says (partsinsyn and stats read them)."""
    if link.body is None:
        return link.personnummer is None
    try:
        body = json.loads(link.body)
        header = Header.of(body)
    except (ValueError, KeyError, TypeError):
        return False
    pnr = body.get("personnummer") if body.get("level") == "individual" else None
    return header == link.header and body.get("kommun") == kommun and pnr == link.personnummer


def _recompute(link: Link, prev: str, kommun: str) -> tuple[str | None, str | None]:
    """(hash, problem): the link's hash recomputed from what is stored, or why it cannot be."""
    if link.version == 1:
        if link.body is None:
            return link.hash, None  # vouched for by the next link's prev_hash (or the head)
        return chain_hash_v1(prev, kommun, link.seq, link.body), None
    if link.content_sha256 is None:
        return None, "innehållets kontrollsumma saknas"
    if link.body is not None and sha256_hex(link.body) != link.content_sha256:
        return None, "innehållet är ändrat"
    return chain_hash(prev, kommun, link.seq, link.header, link.content_sha256), None


def first_broken_link(links: Iterable[Link], kommun: str, head: Head | None,
                      purged_too_early: Callable[[Header], bool] | None = None,
                      signer: Signer | None = None,
                      purge_allowed: Callable[[Header, dt.datetime | None], bool] | None = None) -> Broken | None:
    """Recompute a kommun's chain from its base; the first broken link, or None when intact.

    Detects altered content, header or hash, records deleted (first, middle, last), reordered
    or moved between kommuner, identity columns that disagree with the body, a missing head,
    and (with ``purged_too_early``) content removed before its retention ran out. With a
    ``signer``: a head (and so a base move) or a record from ``signed_from`` on that does not
    carry the MAC of the chain key; with ``purge_allowed(header, purged_at)``: a gallring mark
    the retention of the record's level did not allow on the day it was set.
    """
    if head is None:
        first = next(iter(links), None)
        return Broken(first.seq if first else 1, "kedjans huvud saknas")
    if signer is not None and not signer.verify(head.mac, signer.head_mac(
            kommun, head.seq, head.hash, head.base_seq, head.base_hash, head.signed_from)):
        return Broken(head.seq, "kedjans huvud (och bas) är inte signerat med kedjenyckeln")
    prev, expected = head.base_hash, head.base_seq + 1
    for link in links:
        if link.seq != expected:
            return Broken(expected, "post saknas" if link.seq > expected else "post i fel ordning eller dubblett")
        if link.prev_hash != prev:
            return Broken(link.seq, "länken till föregående post stämmer inte")
        recomputed, problem = _recompute(link, prev, kommun)
        if problem:
            return Broken(link.seq, problem)
        if recomputed != link.hash:
            return Broken(link.seq, "kontrollsumman stämmer inte")
        if not _columns_match(link, kommun):
            return Broken(link.seq, "kolumnerna stämmer inte med posten")
        if signer is not None and link.seq >= head.signed_from and not signer.verify(link.mac, signer.record_mac(
                kommun, link.seq, link.version, link.hash, link.created_at, link.purged_at)):
            return Broken(link.seq, "posten är inte signerad med kedjenyckeln")
        if signer is not None and link.seq >= head.signed_from and link.version != CURRENT_VERSION:
            return Broken(link.seq, "signerad post med gammal kontrollsummeversion")
        if link.body is None and link.version > 1 and purged_too_early and purged_too_early(link.header):
            return Broken(link.seq, "gallrad före gallringsfristen")
        if link.body is None and purge_allowed is not None and not purge_allowed(link.header, link.purged_at):
            return Broken(link.seq, "gallrad utan att gallringsfristen hade löpt ut när det gjordes")
        prev, expected = link.hash, expected + 1
    if expected - 1 != head.seq:
        return Broken(expected if expected - 1 < head.seq else head.seq + 1, "sista posterna saknas"
                      if expected - 1 < head.seq else "poster efter kedjans huvud")
    if prev != head.hash:
        return Broken(head.seq, "kedjans huvud stämmer inte")
    return None


@dataclass(frozen=True)
class CheckpointHead:
    """A head as exported by `iub audit checkpoint`, with the head record's level and day."""

    kommun: str
    seq: int
    hash: str
    level: str | None = None
    day: dt.date | None = None
    base_seq: int = 0
    base_hash: str = GENESIS
    signed_from: int | None = None
    at: str | None = None
    mac: str | None = None

    @classmethod
    def of(cls, h: dict[str, Any]) -> CheckpointHead:
        """A head from its exported JSON."""
        return cls(str(h["kommun"]), int(h["seq"]), str(h["hash"]), h.get("head_level"),
                   dt.date.fromisoformat(h["head_day"]) if h.get("head_day") else None,
                   int(h.get("base_seq", 0)), str(h.get("base_hash", GENESIS)),
                   int(h["signed_from"]) if h.get("signed_from") is not None else None, h.get("at"), h.get("mac"))


def latest_checkpoints(heads: Iterable[CheckpointHead],
                       signer: Signer | None) -> tuple[dict[str, CheckpointHead], list[str]]:
    """The latest exported head per kommun, and what is wrong with the export itself.

    With a signer every line must carry its MAC (a forged or edited checkpoint is refused), and a
    kommun's lines may only move forward: seq and base never decrease, signing never starts later.
    """
    latest: dict[str, CheckpointHead] = {}
    problems: list[str] = []
    for n, cp in enumerate(heads, 1):
        if signer is not None and not signer.verify(cp.mac, signer.checkpoint_mac(
                cp.at or "", cp.kommun, cp.seq, cp.hash, cp.base_seq, cp.base_hash,
                cp.signed_from if cp.signed_from is not None else 1)):
            problems.append(f"kontrollpunkt {n} ({cp.kommun}) är inte signerad med kedjenyckeln")
            continue
        before = latest.get(cp.kommun)
        if before is not None and (cp.seq < before.seq or cp.base_seq < before.base_seq
                                   or (cp.signed_from or 1) > (before.signed_from or 1)):
            problems.append(f"kontrollpunkt {n} ({cp.kommun}) går bakåt jämfört med en tidigare")
            continue
        latest[cp.kommun] = cp
    return latest, problems


def check_against_checkpoint(cp: CheckpointHead, head: Head | None, hash_at: str | None,
                             kept: Callable[[str, dt.date], bool] | None = None) -> str | None:
    """Why the store no longer matches an exported head (None: it does).

    ``hash_at`` is the stored hash of the record at ``cp.seq`` (None when it is not there).
    ``kept(level, day)``: whether a record is still within its retention. A checkpointed record
    that is gone although it was still within its retention was not removed by gallring.
    """
    if head is None:
        return "kedjan finns inte längre"
    if cp.signed_from is not None and head.signed_from > cp.signed_from:
        return f"signeringen av kedjan börjar senare än vid kontrollpunkten ({head.signed_from} > {cp.signed_from})"
    if head.base_seq < cp.base_seq:
        return f"kedjans bas har flyttats bakåt ({head.base_seq} < {cp.base_seq})"
    if head.seq < cp.seq:
        return f"kedjan är kortare än kontrollpunkten ({head.seq} < {cp.seq})"
    if cp.seq <= head.base_seq and kept and cp.level and cp.day and kept(cp.level, cp.day):
        return f"post {cp.seq} är borttagen fast dess gallringsfrist inte har löpt ut"
    if cp.seq < head.base_seq:
        return None  # gallrad since: nothing left to compare
    stored = head.base_hash if cp.seq == head.base_seq else hash_at
    if stored != cp.hash:
        return f"post {cp.seq} har en annan kontrollsumma än vid kontrollpunkten"
    return None
