"""Intake service settings."""

from __future__ import annotations

from pydantic import Field

from iub_runtime.settings import RuntimeSettings


class IntakeSettings(RuntimeSettings):
    """HTTP, catalogue, idempotency and security settings."""

    host: str = "127.0.0.1"
    port: int = 8080
    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    idempotency_ttl_hours: float = Field(default=48.0, ge=24.0, description="Idempotency keys kept at least 24 h")
    max_body_bytes: int = Field(default=64_000, ge=1024, description="Larger bodies get 413 before parsing")
    public_base_url: str | None = Field(default=None, description="Base for Location headers")
    clients_file: str | None = Field(default=None, description="JSON file of clients (IUB_CLIENTS_FILE)")
    clients_json: str | None = Field(default=None, description="The same JSON in a variable (IUB_CLIENTS_JSON)")
    auth_disabled: bool = Field(
        default=False, description="Development only: no clients configured, every caller may do everything"
    )
    dev_webhook_secret: str | None = Field(
        default=None, min_length=16, description="Development only: the telephony signing secret when auth is off"
    )
    rate_window_s: int = Field(default=60, ge=1, description="Rate-limit window; a client's limit is per minute")
