"""Audit service settings."""

from __future__ import annotations

from pydantic import Field

from iub_runtime.settings import RuntimeSettings


class AuditSettings(RuntimeSettings):
    """Where the documentation is stored."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default a SQLite file under ./var/"
    )
    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    var_dir: str = "var"
    retention_days_individual: int = Field(default=3650, ge=1, description="Gallring of 14 kap 3 § records")
    retention_days_anonymised: int = Field(default=1825, ge=1, description="Gallring of 14 kap 5 § records")
    retention_days_advisory: int = Field(default=1825, ge=1, description="Gallring of 14 kap 4 § records")
