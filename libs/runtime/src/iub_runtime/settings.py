"""Settings every service shares (pydantic-settings, env prefix IUB_)."""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    """Broker, delivery and retention settings common to all services."""

    model_config = SettingsConfigDict(env_prefix="IUB_", env_file=None, extra="ignore")

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias="REDIS_URL",
        description="Redis with the streams (REDIS_URL)",
    )
    redis_mode: Literal["single", "sentinel", "cluster"] = Field(
        default="single",
        description="Redis topology: one server (REDIS_URL), Sentinel (IUB_REDIS_SENTINELS + IUB_REDIS_MASTER_NAME) "
        "or Cluster (IUB_REDIS_CLUSTER_NODES)")
    redis_sentinels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description='Sentinel mode: the sentinels as host:port (JSON list or comma-separated)')
    redis_master_name: str = Field(default="mymaster", description="Sentinel mode: the monitored master's name")
    redis_cluster_nodes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Cluster mode: startup nodes host:port (JSON list or comma-separated)")
    redis_password: str | None = Field(default=None, description="Password for the data nodes (Sentinel/Cluster)")
    min_replicas_ack: int | None = Field(
        default=None, ge=0,
        description="A write (intake's 202, every publish) counts only once this many replicas have it (WAIT); "
        "default: 1 in sentinel and cluster mode, 0 for single")
    replicas_ack_timeout_ms: int = Field(default=1000, ge=10, description="How long WAIT waits for the replicas")
    stream_shards: Literal["shared", "kommun"] | None = Field(
        default=None,
        description="Stream layout: one stream per kommun with a {kommun} hash tag (kommun; required in cluster "
        "mode, its default) or one shared stream (shared; default in single and sentinel mode)")
    kommuner: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sharded layout: the kommuner this process serves (default: every kommun in the catalogue)")
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

    def replicas_to_ack(self) -> int:
        """How many replicas must hold a write before it counts (IUB_MIN_REPLICAS_ACK)."""
        if self.min_replicas_ack is not None:
            return self.min_replicas_ack
        return 0 if self.redis_mode == "single" else 1

    def sharded(self) -> bool:
        """Whether streams exist once per kommun (hash-tagged)."""
        return (self.stream_shards or ("kommun" if self.redis_mode == "cluster" else "shared")) == "kommun"

    @field_validator("redis_sentinels", "redis_cluster_nodes", "kommuner", mode="before")
    @classmethod
    def _comma_list(cls, v: object) -> object:
        if isinstance(v, str):
            if v.strip().startswith("["):
                return json.loads(v)
            return [x.strip() for x in v.split(",") if x.strip()]
        return v

    @field_validator("callback_allowed_networks")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for cidr in v:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad network, which is no secret
        return v
