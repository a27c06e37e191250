"""The ``iub`` command."""
import typer

app = typer.Typer(help="IUB: insatser utan individuell behovsprövning", no_args_is_help=True)
