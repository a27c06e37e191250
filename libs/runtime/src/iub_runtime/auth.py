"""Client credentials: API keys stored hashed, each scoped to kommuner and operations.

Why API keys and not OAuth2 JWTs: the clients are a handful of known systems (the app backend,
each telephony platform, operators, case workers) configured by kommun IT; a random 256-bit key
per client, stored only as its SHA-256, needs no key server, rotates by adding a second key, and
is checked in constant time. A slow password hash is unnecessary for random keys of this size.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from iub_runtime import urlpolicy

KeyHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Operation(StrEnum):
    """What a client may do."""

    CATALOG_READ = "catalog:read"
    REQUESTS_CREATE = "requests:create"
    REQUESTS_READ = "requests:read"
    PREVIEW = "eligibility:preview"
    TELEPHONY = "telephony:events"
    INSYN = "audit:insyn"  # partsinsyn for case workers
    OPS_READ = "ops:read"
    OPS_WRITE = "ops:write"
    PROVIDER_READ = "provider:read"  # utförare: inbox and case view of their own units
    PROVIDER_WRITE = "provider:write"  # utförare: villkor and consent facts, carrying-out events
    FOLLOWUP_READ = "audit:followup"  # the board: follow-up tables of carrying out (suppressed)


class ClientConfig(BaseModel):
    """One client's credential and scope (from the clients file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    key_sha256: list[KeyHash] = Field(min_length=1, description="Hex SHA-256 of each valid key (rotation: 2)")
    kommuner: list[str] = Field(min_length=1, description="Kommun ids, or ['*'] for all")
    operations: list[Operation] = Field(min_length=1)
    units: list[str] = Field(
        default_factory=list,
        description="Providers (utförare): the catalogue units (`unit`, exactly as in catalog/*.yaml) "
        "whose requests the client sees; a provider client has one kommun",
    )
    rate_per_minute: int = Field(default=600, ge=1)
    webhook_secret: str | None = Field(
        default=None, min_length=16, description="Telephony platforms: Standard Webhooks signing secret"
    )
    callback_url_prefixes: list[str] = Field(
        default_factory=list,
        description="App backends: allowed callback URL prefixes, e.g. https://app.example.se/callbacks/ "
        "(empty: the client may not use callbacks)",
    )

    @field_validator("callback_url_prefixes")
    @classmethod
    def _prefixes_are_urls(cls, v: list[str]) -> list[str]:
        for i, prefix in enumerate(v):
            try:
                urlpolicy.parse(prefix)
            except urlpolicy.UrlRefused as exc:
                raise ValueError(f"callback_url_prefixes[{i}]: {exc}") from None
        return v

    @model_validator(mode="after")
    def _telephony_needs_secret(self) -> ClientConfig:
        if Operation.TELEPHONY in self.operations and not self.webhook_secret:
            raise ValueError(f"client {self.id}: the telephony:events operation needs a webhook_secret")
        return self

    @model_validator(mode="after")
    def _provider_scope(self) -> ClientConfig:
        provider = {Operation.PROVIDER_READ, Operation.PROVIDER_WRITE} & set(self.operations)
        if provider and (not self.units or len(self.kommuner) != 1 or "*" in self.kommuner):
            raise ValueError(f"client {self.id}: provider operations need one kommun and at least one unit")
        if self.units and not provider:
            raise ValueError(f"client {self.id}: units are only for provider operations")
        return self

    def sees_unit(self, kommun: str, unit: str) -> bool:
        """Whether a provider client may see a request of this kommun and unit."""
        return kommun in self.kommuner and unit in self.units

    def may(self, op: Operation, kommun: str | None = None) -> bool:
        """Whether the client may do an operation (for one kommun, when given)."""
        if op not in self.operations:
            return False
        return kommun is None or "*" in self.kommuner or kommun in self.kommuner


def hash_key(key: str) -> str:
    """SHA-256 hex of an API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return "iub_" + secrets.token_urlsafe(32)


class ClientRegistry:
    """The configured clients, looked up by presented key in constant time."""

    def __init__(self, clients: list[ClientConfig]) -> None:
        ids = [c.id for c in clients]
        if len(ids) != len(set(ids)):
            raise ValueError("client ids must be unique")
        hashes = [k for c in clients for k in c.key_sha256]
        if len(hashes) != len(set(hashes)):
            raise ValueError("a key hash belongs to more than one client")
        self.clients = clients

    @classmethod
    def from_file(cls, path: str | Path) -> ClientRegistry:
        """Load a JSON file: {"clients": [ClientConfig, …]}."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls([ClientConfig.model_validate(c) for c in data["clients"]])

    @classmethod
    def from_json(cls, text: str) -> ClientRegistry:
        """Load clients from a JSON string (e.g. an env var holding a secret)."""
        data = json.loads(text)
        return cls([ClientConfig.model_validate(c) for c in data["clients"]])

    def authenticate(self, presented: str | None) -> ClientConfig | None:
        """The client whose key matches, or None. Compares against every key (no early exit)."""
        if not presented:
            return None
        digest = hash_key(presented).encode()
        found = None
        for c in self.clients:
            for k in c.key_sha256:
                if hmac.compare_digest(digest, k.encode()):
                    found = c
        return found

    def by_id(self, client_id: str) -> ClientConfig | None:
        """A client by id (telephony platforms are named in the URL or header)."""
        return next((c for c in self.clients if c.id == client_id), None)
