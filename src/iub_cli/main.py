"""The ``iub`` command."""

import typer

from iub_cli.audit_cmd import audit_app
from iub_cli.catalog_cmd import catalog_app
from iub_cli.clients_cmd import clients_app
from iub_cli.docs_cmd import docs_app
from iub_cli.eligibility_cmd import eligibility_app
from iub_cli.notify_cmd import notify_app
from iub_cli.ops_cmd import ops_app
from iub_cli.up import up

app = typer.Typer(help="IUB: insatser utan individuell behovsprövning (SoL 2025:400)", no_args_is_help=True)
app.command("up")(up)
app.add_typer(catalog_app, name="catalog")
app.add_typer(eligibility_app, name="eligibility")
app.add_typer(notify_app, name="notify")
app.add_typer(audit_app, name="audit")
app.add_typer(clients_app, name="clients")
app.add_typer(ops_app, name="ops")
app.add_typer(docs_app, name="docs")


@app.callback()
def _root() -> None:
    """Intake, eligibility, audit and notify over Redis Streams."""
