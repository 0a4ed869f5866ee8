"""The ``legato`` command: the root that assembles the command groups of
:mod:`legato.cli.commands` (each declares its commands, options and help; errors end a
command through :mod:`legato.cli.boundary`).

This module imports only typer and legato's light modules: each command imports what it
needs (the engine, the store, SQLAlchemy) when it runs, so ``legato --help`` starts fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from legato._version import __version__
from legato.cli.commands import inspection, run, serve, ui
from legato.cli.commands.artifacts import artifacts_app, cache_app
from legato.cli.commands.models import models_app
from legato.cli.commands.options import SETTINGS
from legato.cli.commands.pipelines import pipelines_app
from legato.cli.commands.runs import runs_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="legato",
    help="Run machine-learning pipelines written as plain Python functions, and look at "
    "what they did.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=SETTINGS,
)
# Top-level commands are declared on their module's own Typer and copied here: not every typer
# release legato supports merges the commands of a sub-Typer added without a name.
for _module in (run, inspection, serve, ui):
    app.registered_commands.extend(_module.commands.registered_commands)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(artifacts_app, name="artifacts")
app.add_typer(cache_app, name="cache")
app.add_typer(pipelines_app, name="pipelines")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"legato {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print legato's version and exit."
        ),
    ] = False,
) -> None:
    """Run machine-learning pipelines written as plain Python functions."""


def main() -> None:
    """Entry point of the ``legato`` command."""
    app(prog_name="legato")
