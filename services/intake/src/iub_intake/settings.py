"""Intake service settings."""

from __future__ import annotations

from iub_runtime.settings import RuntimeSettings
from pydantic import Field


class IntakeSettings(RuntimeSettings):
    """HTTP, catalogue, idempotency and security settings."""

    host: str = "127.0.0.1"
    port: int = 8080
    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    idempotency_ttl_hours: float = Field(default=48.0, ge=24.0, description="Idempotency keys kept at least 24 h")
    max_body_bytes: int = Field(default=64_000, ge=1024)
    public_base_url: str | None = Field(default=None, description="Base for Location headers")
