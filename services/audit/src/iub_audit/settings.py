"""Audit service settings (environment, prefix IUB_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from iub_audit.domain.linkage import LinkKeys
from iub_audit.domain.signing import DEV_KEY, MIN_KEY_CHARS, Signer
from iub_runtime.settings import RuntimeSettings

DEV_LINK_KEY = "iub-dev-only-link-key-never-in-production"


class SecretMissing(RuntimeError):
    """A signing or linkage secret is empty or a default outside explicit dev mode (names no value)."""


class AuditSettings(RuntimeSettings):
    """Where the documentation is stored, how long it is kept, and the insyn endpoint."""

    model_config = SettingsConfigDict(populate_by_name=True)

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default a SQLite file under ./var/")
    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    var_dir: str = "var"
    # IUB_AUDIT_HOST / IUB_AUDIT_PORT, not IUB_PORT: intake's port variable must not move audit
    host: str = Field(default="127.0.0.1", validation_alias="IUB_AUDIT_HOST",
                      description="Bind address of the insyn API, /health and /metrics")
    port: int = Field(default=8082, ge=0, le=65535, validation_alias="IUB_AUDIT_PORT",
                      description="Port of the insyn API, /health and /metrics (IUB_AUDIT_PORT)")
    clients_file: str | None = Field(default=None, description="JSON file of clients (IUB_CLIENTS_FILE)")
    clients_json: str | None = Field(default=None, description="The same JSON in a variable (IUB_CLIENTS_JSON)")
    insyn_rate_per_minute: int = Field(
        default=30, ge=1, description="Partsinsyn lookups per client and minute (also capped by the client's rate)"
    )
    insyn_log_key: str | None = Field(
        default=None, min_length=32,
        description="Secret keying the hash of the person in the insyn lookup log; default a key file "
        "<IUB_VAR_DIR>/insyn-log.key created on first start (keep it outside the database's backups)",
    )
    retention_days_individual: int = Field(default=3650, ge=1, description="Gallring of 14 kap 3 § records")
    retention_days_anonymised: int = Field(default=1825, ge=1, description="Gallring of 14 kap 5 § records")
    retention_days_advisory: int = Field(default=1825, ge=1, description="Gallring of 14 kap 4 § records")

    dev_mode: bool = Field(default=False, validation_alias="IUB_DEV_MODE",
                           description="Development only: allow the built-in dev chain and linkage keys")
    chain_key: SecretStr | None = Field(default=None, validation_alias="IUB_AUDIT_CHAIN_KEY",
                                        description="Secret: HMAC key of the hash chain, heads and checkpoints")
    chain_key_file: str | None = Field(default=None, validation_alias="IUB_AUDIT_CHAIN_KEY_FILE",
                                       description="File holding the chain key (instead of IUB_AUDIT_CHAIN_KEY)")
    link_key: SecretStr | None = Field(default=None, validation_alias="IUB_AUDIT_LINK_KEY",
                                       description="Secret: keyed id of 14 kap 4–5 § records (rotate)")
    link_key_previous: SecretStr | None = Field(default=None, validation_alias="IUB_AUDIT_LINK_KEY_PREVIOUS",
                                                description="The link key before rotation, for redeliveries only")
    history_key: SecretStr | None = Field(
        default=None, validation_alias="IUB_HISTORY_KEY",
        description="Secret shared with eligibility: keyed hash of the personnummer in the history index of "
        "14 kap 3 § end records (has_had_insats villkor). Unset outside development: index not written")
    checkpoint_path: str | None = Field(default=None, validation_alias="IUB_AUDIT_CHECKPOINT_PATH",
                                        description="Append-only file of signed checkpoints; verify reads it")
    checkpoint_interval_s: float = Field(default=300.0, gt=0, validation_alias="IUB_AUDIT_CHECKPOINT_INTERVAL_S",
                                         description="How often the service appends a checkpoint")
    stage_flush_interval_s: float = Field(default=60.0, gt=0, validation_alias="IUB_AUDIT_STAGE_FLUSH_INTERVAL_S",
                                          description="How often 14 kap 4–5 § records of past hours are chained")
    coverage_window_days: int = Field(default=31, ge=1, validation_alias="IUB_AUDIT_COVERAGE_WINDOW_DAYS",
                                      description="Period of the information-coverage gauges on /metrics")
    coverage_refresh_s: float = Field(default=60.0, gt=0, validation_alias="IUB_AUDIT_COVERAGE_REFRESH_S",
                                      description="How often the coverage gauges are recomputed")
    provider_session_ttl_s: int = Field(
        default=8 * 3600, ge=60, validation_alias="IUB_PROVIDER_SESSION_TTL_S",
        description="Provider web page: a session ends after this many seconds without use")
    provider_cookie_secure: bool = Field(
        default=True, validation_alias="IUB_PROVIDER_COOKIE_SECURE",
        description="Provider web page: the session cookie only over HTTPS (false only for plain-HTTP tests)")
    provider_sso_header: str | None = Field(
        default=None, validation_alias="IUB_PROVIDER_SSO_HEADER",
        description="Provider web page behind single sign-on: the header naming the signed-in user, set by the "
        "kommun's OIDC reverse proxy (e.g. X-Auth-Request-Email from oauth2-proxy); unset: sign-in with the key")
    provider_sso_trusted_proxies: list[str] = Field(
        default_factory=list, validation_alias="IUB_PROVIDER_SSO_TRUSTED_PROXIES",
        description="Peer addresses whose SSO header is believed (the proxy's address); from any other peer "
        "the header is ignored")
    provider_sso_users: dict[str, str] = Field(
        default_factory=dict, validation_alias="IUB_PROVIDER_SSO_USERS",
        description="SSO user -> provider client id (JSON), e.g. {\"anna@sala.se\": \"sala-medling\"}")

    def _secret(self, value: SecretStr | None, file: str | None, dev: str, name: str) -> str:
        raw = Path(file).read_text(encoding="utf-8").strip() if file else (value.get_secret_value() if value else "")
        if not raw or raw == dev:
            if self.dev_mode:
                return dev
            raise SecretMissing(f"{name} is empty or the dev default: set it (see README), or IUB_DEV_MODE=1")
        if len(raw) < MIN_KEY_CHARS:
            raise SecretMissing(f"{name} is shorter than {MIN_KEY_CHARS} characters")
        return raw

    def signer(self) -> Signer:
        """The chain key's signer; raises SecretMissing when the key is empty or a default outside dev mode."""
        return Signer(self._secret(self.chain_key, self.chain_key_file, DEV_KEY,
                                   "IUB_AUDIT_CHAIN_KEY").encode("utf-8"))

    def link_keys(self) -> LinkKeys:
        """The linkage keys (current first); raises SecretMissing like ``signer``."""
        current = self._secret(self.link_key, None, DEV_LINK_KEY, "IUB_AUDIT_LINK_KEY").encode("utf-8")
        prev = self.link_key_previous.get_secret_value().encode("utf-8") if self.link_key_previous else None
        return LinkKeys(current, (prev,) if prev else ())

    def retention_days(self) -> dict[str, int]:
        """Retention per documentation level, in days."""
        return {"individual": self.retention_days_individual, "anonymised": self.retention_days_anonymised,
                "advisory": self.retention_days_advisory}
