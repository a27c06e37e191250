"""Which clients may call intake: the registry from settings, or an explicit development mode."""

from __future__ import annotations

from pydantic import ValidationError

from iub_intake.settings import IntakeSettings
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation
from iub_runtime.signing import secret_problem

DEV_CLIENT_ID = "dev"


class ClientsConfigError(RuntimeError):
    """The client configuration is missing or contradictory; intake refuses to start."""


def load_registry(settings: IntakeSettings) -> ClientRegistry | None:
    """The configured clients, or None in development mode (IUB_AUTH_DISABLED=true and no clients)."""
    if settings.clients_file and settings.clients_json:
        raise ClientsConfigError("set IUB_CLIENTS_FILE or IUB_CLIENTS_JSON, not both")
    registry = None
    try:
        if settings.clients_file:
            registry = ClientRegistry.from_file(settings.clients_file)
        elif settings.clients_json:
            registry = ClientRegistry.from_json(settings.clients_json)
    except ValidationError as exc:  # locations and messages only: the JSON holds secrets
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise ClientsConfigError(f"invalid clients configuration: {where}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # JSON errors name a position, ours name a client id: neither holds a secret
        raise ClientsConfigError(f"the clients configuration cannot be read: {type(exc).__name__}: {exc}") from None
    if registry is not None and settings.auth_disabled:
        raise ClientsConfigError("IUB_AUTH_DISABLED=true while clients are configured: choose one")
    if registry is not None and not registry.clients:
        raise ClientsConfigError("the clients configuration lists no clients")
    for c in registry.clients if registry is not None and not settings.dev_mode else []:
        if c.webhook_secret is not None and (problem := secret_problem(c.webhook_secret)) is not None:
            # signing secrets are never defaults (outside IUB_DEV_MODE); the message names the client only
            raise ClientsConfigError(f"client {c.id}: webhook_secret {problem}")
    if registry is None and not settings.auth_disabled:
        raise ClientsConfigError(
            "no clients configured: set IUB_CLIENTS_FILE or IUB_CLIENTS_JSON, "
            "or IUB_AUTH_DISABLED=true for development"
        )
    return registry


def dev_client(settings: IntakeSettings) -> ClientConfig:
    """The one client of development mode: every intake operation on every kommun (providers use audit)."""
    ops = [op for op in Operation if (op is not Operation.TELEPHONY or settings.dev_webhook_secret)
           and op not in (Operation.PROVIDER_READ, Operation.PROVIDER_WRITE)]
    return ClientConfig(
        id=DEV_CLIENT_ID,
        name="Utveckling (IUB_AUTH_DISABLED)",
        key_sha256=["0" * 64],
        kommuner=["*"],
        operations=ops,
        rate_per_minute=1_000_000,
        webhook_secret=settings.dev_webhook_secret,
    )
