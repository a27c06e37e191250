"""Eligibility service settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from iub_runtime.settings import RuntimeSettings


class EligibilitySettings(RuntimeSettings):
    """Where the catalogue is."""

    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    history_key: SecretStr | None = Field(
        default=None, validation_alias="IUB_HISTORY_KEY",
        description="Secret shared with audit: keyed hash of the personnummer in the history index of "
        "14 kap 3 § end records (has_had_insats villkor). Unset outside development: only stated history")
