"""``iub clients``: mint API keys, hash them, and check a clients file (IUB_CLIENTS_FILE)."""

from __future__ import annotations

import base64
import json
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from iub_contracts.catalog_loader import default_catalog_dir, load_catalog
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key, new_key

clients_app = typer.Typer(help="Intake's clients: API keys scoped to kommuner and operations.", no_args_is_help=True)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: 'whsec_' + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@clients_app.command("new")
def new(
    client_id: Annotated[str, typer.Option("--id", help="Client id, e.g. 'app-sala' or 'kundcenter-telia'")],
    kommun: Annotated[list[str], typer.Option("--kommun", help="Kommun id (repeat), or '*' for all")],
    operation: Annotated[list[Operation], typer.Option("--op", "--operation", help="Operation (repeat)")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    rate: Annotated[int, typer.Option(help="Calls per minute")] = 600,
    unit: Annotated[list[str] | None, typer.Option(
        "--unit", "--units", help="Providers: a catalogue unit, exactly as in catalog/*.yaml (repeat)")] = None,
) -> None:
    """Mint a key: prints the key once (give it to the client) and the entry for the clients file.

    A provider (utförare) gets one --kommun, its --unit(s) and --op provider:read / provider:write.
    """
    key = new_key()
    secret = new_webhook_secret() if Operation.TELEPHONY in operation else None
    try:
        entry = ClientConfig(id=client_id, name=name or client_id, key_sha256=[hash_key(key)], kommuner=kommun,
                             operations=operation, rate_per_minute=rate, webhook_secret=secret, units=unit or [])
    except ValidationError as exc:
        for e in exc.errors(include_input=False):
            typer.echo(f"{'.'.join(map(str, e['loc']))}: {e['msg']}", err=True)
        raise typer.Exit(1) from None
    unknown = unknown_units(entry)
    if unknown:
        typer.echo(f"units not in the catalogue of {entry.kommuner[0]}: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"API key (shown once, store it with the client): {key}", err=True)
    if secret:
        typer.echo(f"Webhook signing secret (give it to the platform): {secret}", err=True)
    typer.echo(json.dumps(entry.model_dump(mode="json", exclude_defaults=False), ensure_ascii=False, indent=2))


def unknown_units(entry: ClientConfig) -> list[str]:
    """A provider's units that no insats of its kommun has (in any version): a typo would show an empty inbox."""
    if not entry.units:
        return []
    catalog = load_catalog(default_catalog_dir())
    kc = catalog.kommun(entry.kommuner[0])
    known = {v.unit for i in (kc.insatser if kc else []) for v in i.versions}
    return [u for u in entry.units if u not in known]


@clients_app.command("hash")
def hash_(
    key: Annotated[str | None, typer.Argument(help="The key; read from stdin when left out")] = None,
) -> None:
    """Print the SHA-256 of a key (for adding a second key when rotating)."""
    presented = key if key is not None else sys.stdin.readline().strip()
    typer.echo(hash_key(presented))


@clients_app.command("check")
def check(path: Annotated[Path, typer.Argument(help="The clients JSON file")]) -> None:
    """Validate a clients file and list who may do what (no keys or secrets are printed)."""
    try:
        registry = ClientRegistry.from_file(path)
    except ValidationError as exc:
        for e in exc.errors(include_input=False):
            typer.echo(f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}", err=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"{path}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    table = Table("id", "kommuner", "units", "operations", "per minute", "keys", "webhook secret")
    for c in registry.clients:
        table.add_row(c.id, ", ".join(c.kommuner), "; ".join(c.units) or "-",
                      ", ".join(op.value for op in c.operations), str(c.rate_per_minute), str(len(c.key_sha256)),
                      "yes" if c.webhook_secret else "-")
    Console().print(table)
