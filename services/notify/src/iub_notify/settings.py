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
    delivery_retries: int = Field(default=4, ge=0)
    delivery_base_delay_s: float = Field(default=0.5, ge=0)
    delivery_max_delay_s: float = Field(default=30.0, ge=0)
    delivery_timeout_s: float = Field(default=10.0, gt=0, description="Per attempt")
    delivery_lease_s: int = Field(
        default=10, ge=1, description="Sending lease, refreshed while sending; frees itself this soon after a crash"
    )
    # a delivery with its retries can take about a minute (5 attempts × timeout + backoff): the
    # claimer must not take an entry that is still being delivered, or it would dead-letter a
    # delivery in progress. A crashed notify is therefore recovered after this long.
    claim_idle_ms: int = Field(default=90_000, ge=100, description="Idle time before the claimer takes an entry")
