"""Unlinkable ids of 14 kap 4–5 § records (pure).

An anonymised or advisory record must not carry the id the client got, the stream entry id or
intake's status key. Its id is a keyed hash of (request id, step) under a linkage key held
outside the audit store (and outside Redis): the audit service can still find "its" record
again for exactly-once storage (the unique (id, step) constraint) and to attach the
information record to its decision's day, but whoever holds the database, Redis and intake's
status rows cannot. The key is rotated; the previous key is kept only for the redelivery
window, after which not even the operators can link a record to a request.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

INDIVIDUAL = "individual"


@dataclass(frozen=True)
class LinkKeys:
    """The current linkage key and those before it (newest first), used only to find earlier records."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    def _id(self, key: bytes, request_id: uuid.UUID | str, step: str) -> uuid.UUID:
        digest = hmac.new(key, f"iub-record\x1f{request_id}\x1f{step}".encode(), hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=4)

    def record_id(self, request_id: uuid.UUID | str, step: str) -> uuid.UUID:
        """The record id under the current key."""
        return self._id(self.current, request_id, step)

    def aliases(self, request_id: uuid.UUID | str, step: str) -> list[str]:
        """The ids the record had under the previous keys (redeliveries across a rotation)."""
        return [str(self._id(k, request_id, step)) for k in self.previous]

    def candidates(self, request_id: uuid.UUID | str, step: str) -> list[str]:
        """Every id the request's record of a step may be stored under: plain (14 kap 3 §) or keyed."""
        return [str(request_id), str(self.record_id(request_id, step)), *self.aliases(request_id, step)]


def stored_id(level: str, request_id: uuid.UUID, step: str, keys: LinkKeys) -> uuid.UUID:
    """The id a record is stored under: the request id at individual level, a keyed id otherwise."""
    return request_id if level == INDIVIDUAL else keys.record_id(request_id, step)
