"""What every route needs: settings, the runtime (Redis), the catalogue and the clients."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from iub_contracts.catalog_loader import Catalog
from iub_intake.ratelimit import RateLimiter
from iub_intake.settings import IntakeSettings
from iub_runtime import urlpolicy
from iub_runtime.auth import ClientConfig, ClientRegistry
from iub_runtime.consumer import Runtime


@dataclass
class Intake:
    """The adapters of one intake process, filled in by the lifespan."""

    settings: IntakeSettings
    rt: Runtime
    registry: ClientRegistry | None
    dev: ClientConfig | None = None
    state: dict = field(default_factory=dict)
    resolver: urlpolicy.Resolver = urlpolicy.resolve

    @property
    def allowed_networks(self) -> list[urlpolicy.IPNetwork]:
        """Non-public networks callbacks may reach (explicit setting, none by default)."""
        return urlpolicy.networks(self.settings.callback_allowed_networks)

    @property
    def catalog(self) -> Catalog:
        """The catalogue loaded at start."""
        return self.state["catalog"]

    @property
    def limiter(self) -> RateLimiter:
        """The Redis rate limiter (created once Redis is connected)."""
        return self.state["limiter"]

    def authenticate(self, presented: str | None) -> ClientConfig | None:
        """The client a key belongs to; in development mode the one dev client, key or not."""
        if self.registry is None:
            return self.dev
        return self.registry.authenticate(presented)

    def location(self, path: str) -> str:
        """A Location header value (absolute when a public base URL is configured)."""
        base = (self.settings.public_base_url or "").rstrip("/")
        return f"{base}{path}"


def get_intake(request: Request) -> Intake:
    """FastAPI dependency: the process's Intake."""
    return request.app.state.intake
