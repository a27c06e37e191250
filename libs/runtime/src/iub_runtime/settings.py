"""Settings every service shares (pydantic-settings, env prefix IUB_)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    """Broker, delivery and retention settings common to all services."""

    model_config = SettingsConfigDict(env_prefix="IUB_", env_file=None, extra="ignore")

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias="REDIS_URL",
        description="Redis with the streams (REDIS_URL)",
    )
    redis_max_connections: int = Field(default=64, ge=4, description="Connections per process (a blocking pool)")
    max_deliveries: int = Field(
        default=5, ge=1,
        description="Attempts before an entry failing with an unexpected error is dead-lettered "
        "(database and connection errors are retried until retry_max_age_hours)")
    claim_idle_ms: int = Field(
        default=1000, ge=100,
        description="Idle time before the claimer takes an entry (entries being handled are kept fresh)")
    claim_poll_ms: int = Field(default=250, ge=10, description="How often the claimer looks for due entries")
    retry_initial_delay_s: float = Field(default=0.5, gt=0, description="First back-off of a failed entry")
    retry_max_delay_s: float = Field(
        default=1.5, gt=0, description="Longest back-off between attempts (bounds the recovery after an outage)")
    retry_max_age_hours: float = Field(
        default=24.0, gt=0, description="Entries failing on database/connection errors are retried this long")
    polling_interval_ms: int = Field(default=100, ge=10)
    batch_size: int = Field(default=100, ge=1, description="Entries read per XREADGROUP")
    stream_retention_hours: float = Field(
        default=72.0, gt=0, description="Entries older than this are trimmed (personal data!)"
    )
    aof_rewrite_hours: float = Field(
        default=6.0, ge=0, le=24,
        description="Rewrite Redis' AOF this often so trimmed personal data leaves the disk (≤ 24 h; 0: never)",
    )
    alive_ttl_s: float = Field(
        default=180.0, ge=90, description="A process' heartbeat lasts this long; then its idle consumers are forgotten"
    )
    dedupe_ttl_hours: float = Field(default=168.0, gt=0, description="How long effects are deduplicated")
    log_level: str = "INFO"
    log_json: bool | None = None
    metrics_port: int | None = Field(default=None, description="Serve /health and /metrics here")
    metrics_host: str = Field(default="127.0.0.1", description="Bind address of /health and /metrics (0.0.0.0 in pods)")
    dev_mode: bool = Field(
        default=False, description="Development only (IUB_DEV_MODE): a generated or missing signing secret is accepted"
    )
    docs_public: bool | None = Field(
        default=None,
        description="HTTP services: /docs, /redoc and /openapi.json without a credential (true) or only with a "
        "valid client key (false); default: public in development mode, private otherwise",
    )
    callback_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR, JSON list) app callbacks may reach although not public, e.g. "
        '["127.0.0.0/8"] for local development and tests; plain http only to these. Default: none',
    )

    def development(self) -> bool:
        """Explicit development mode: IUB_DEV_MODE, or a service's own (intake: IUB_AUTH_DISABLED)."""
        return self.dev_mode or bool(getattr(self, "auth_disabled", False))

    def docs_are_public(self) -> bool:
        """Whether the API description answers without a credential (private by default in production)."""
        return self.docs_public if self.docs_public is not None else self.development()

    @field_validator("callback_allowed_networks")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for cidr in v:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad network, which is no secret
        return v
