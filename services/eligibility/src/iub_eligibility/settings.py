"""Eligibility service settings."""

from __future__ import annotations

from pydantic import Field

from iub_runtime.settings import RuntimeSettings


class EligibilitySettings(RuntimeSettings):
    """Where the catalogue is."""

    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
