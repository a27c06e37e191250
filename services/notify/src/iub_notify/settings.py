"""Notify service settings."""

from __future__ import annotations

from iub_runtime.settings import RuntimeSettings
from pydantic import Field


class NotifySettings(RuntimeSettings):
    """Delivery endpoints, signing secret and retries."""

    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    signing_secret: str = Field(default="dev-only-change-me", description="Signs app callbacks and telephony replies")
    telephony_reply_url: str | None = Field(default=None, description="Kundcenter platform URL for replies")
    delivery_retries: int = Field(default=4, ge=0)
    delivery_base_delay_s: float = Field(default=0.5, ge=0)
