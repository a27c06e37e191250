"""Audit service settings."""

from __future__ import annotations

from iub_runtime.settings import RuntimeSettings
from pydantic import Field


class AuditSettings(RuntimeSettings):
    """Where the documentation is stored."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default a SQLite file under ./var/"
    )
    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    var_dir: str = "var"
