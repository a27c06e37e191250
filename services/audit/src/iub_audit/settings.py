"""Audit service settings (environment, prefix IUB_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from iub_runtime.settings import RuntimeSettings


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

    def retention_days(self) -> dict[str, int]:
        """Retention per documentation level, in days."""
        return {"individual": self.retention_days_individual, "anonymised": self.retention_days_anonymised,
                "advisory": self.retention_days_advisory}
