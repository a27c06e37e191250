"""Notify service settings."""

from __future__ import annotations

from pydantic import Field

from iub_runtime.settings import RuntimeSettings


class NotifySettings(RuntimeSettings):
    """Templates, delivery endpoints, signing secret and retries."""

    catalog_dir: str | None = Field(default=None, description="Catalogue folder (IUB_CATALOG_DIR)")
    templates_dir: str | None = Field(
        default=None, description="Reviewed information templates (IUB_TEMPLATES_DIR); default: the packaged ones"
    )
    signing_secret: str | None = Field(
        default=None, description="Signs app callbacks and telephony replies (secret; required outside IUB_DEV_MODE)"
    )
    telephony_reply_url: str | None = Field(default=None, description="Kundcenter platform URL for replies")
    delivery_retries: int = Field(default=4, ge=0, description="Attempts after the first, each on its own schedule")
    delivery_base_delay_s: float = Field(default=0.5, gt=0, description="First back-off of a failed delivery")
    delivery_max_delay_s: float = Field(default=30.0, gt=0, description="Longest back-off of a failed delivery")
    delivery_timeout_s: float = Field(default=5.0, gt=0, description="Per attempt (a hard bound)")
    delivery_concurrency: int = Field(default=64, ge=1, description="Deliveries in flight at once per process")
    delivery_lease_s: int = Field(
        default=10, ge=1, description="Sending lease, refreshed while sending; frees itself this soon after a crash"
    )
