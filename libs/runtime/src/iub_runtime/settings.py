"""Settings every service shares (pydantic-settings, env prefix IUB_)."""

from __future__ import annotations

from pydantic import Field
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
    dedupe_ttl_hours: float = Field(default=168.0, gt=0, description="How long effects are deduplicated")
    log_level: str = "INFO"
    log_json: bool | None = None
    metrics_port: int | None = Field(default=None, description="Serve /health and /metrics here")
    metrics_host: str = Field(default="127.0.0.1", description="Bind address of /health and /metrics (0.0.0.0 in pods)")
