"""The ``iub`` command.

Every subcommand lives in its own module and is imported only when it runs, so ``iub --help``
and ``iub eligibility check`` start without loading Redis, SQLAlchemy, FastAPI or the services
(issue 14 (9): under 0.5 s). The help listing uses the short help below, no import at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer runs on its own copy of click; importing click itself costs 0.1 s
    import click

# name: (module, attribute, short help). The attribute is a Typer app (a group) or a function (a command).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "up": ("iub_cli.up", "up", "Run Redis (unless REDIS_URL is set) and the four services until interrupted."),
    "catalog": ("iub_cli.catalog_cmd", "catalog_app",
                "Katalogen över insatser utan individuell behovsprövning."),
    "eligibility": ("iub_cli.eligibility_cmd", "eligibility_app",
                    "Pröva villkor och samtycke för en insats utan individuell behovsprövning."),
    "notify": ("iub_cli.notify_cmd", "notify_app", "Informationen enligt 11 kap. 6 § SoL: väntetider och täckning."),
    "audit": ("iub_cli.audit_cmd", "audit_app", "Documentation: hash chains, partsinsyn, uppföljning and gallring."),
    "clients": ("iub_cli.clients_cmd", "clients_app",
                "Intake's clients: API keys scoped to kommuner and operations."),
    "ops": ("iub_cli.ops_cmd", "ops_app", "Operators: streams, consumer groups, lag and dead letters."),
    "docs": ("iub_cli.docs_cmd", "docs_app",
             "Generated documentation: AsyncAPI, OpenAPI and contract JSON Schemas."),
}


def load_command(name: str) -> click.Command:
    """Import one subcommand's module and build its click command."""
    module, attribute, _help = COMMANDS[name]
    target: Any = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):  # always a group, as add_typer made it (even with one command)
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    # shell completion is offered once, on `iub` itself
    command.params = [p for p in command.params if p.name not in ("install_completion", "show_completion")]
    return command


class LazyGroup(TyperGroup):
    """A group whose subcommands are imported on use; help lists them from ``COMMANDS``."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # the help page only needs the name and the short help
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2], short_help=COMMANDS[cmd_name][2])
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False


# plain help on `iub` itself: rich's help renderer alone takes 0.2 s to import (subcommands keep theirs)
app = typer.Typer(cls=LazyGroup, help="IUB: insatser utan individuell behovsprövning (SoL 2025:400)",
                  no_args_is_help=True, rich_markup_mode=None)


@app.callback()
def _root() -> None:
    """Intake, eligibility, audit and notify over Redis Streams."""
