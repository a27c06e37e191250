"""Eligibility service settings."""

from __future__ import annotations

from iub_runtime.settings import RuntimeSettings
from pydantic import Field


class EligibilitySettings(RuntimeSettings):
    """Where the catalogue is."""

    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
