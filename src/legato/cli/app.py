"""The ``legato`` command: the root that assembles the command groups of
:mod:`legato.cli.commands` (each declares its commands, options and help; errors end a
command through :mod:`legato.cli.boundary`).

This module imports only typer and legato's light modules: each command imports what it
needs (the engine, the store, SQLAlchemy) when it runs, so ``legato --help`` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from typer.main import get_command_name

from legato._version import __version__
from legato.cli.commands import inspection, run, schedules, serve, ui
from legato.cli.commands.artifacts import artifacts_app, cache_app
from legato.cli.commands.models import models_app
from legato.cli.commands.options import SETTINGS
from legato.cli.commands.pipelines import pipelines_app
from legato.cli.commands.runs import runs_app
from legato.cli.commands.schedules import schedules_app

__all__ = ["app", "app_for", "main"]


def _root() -> typer.Typer:
    """The ``legato`` Typer with its options and no commands yet."""
    root = typer.Typer(
        name="legato",
        help="Run machine-learning pipelines written as plain Python functions, and look at "
        "what they did.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings=SETTINGS,
    )
    root.callback()(_main)
    return root


def _version(value: bool) -> None:
    if value:
        typer.echo(f"legato {__version__}")
        raise typer.Exit()


def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print legato's version and exit."
        ),
    ] = False,
) -> None:
    """Run machine-learning pipelines written as plain Python functions."""


app = _root()
# Top-level commands are declared on their module's own Typer and copied here: not every typer
# release legato supports merges the commands of a sub-Typer added without a name.
for _module in (run, inspection, serve, ui, schedules):
    app.registered_commands.extend(_module.commands.registered_commands)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(artifacts_app, name="artifacts")
app.add_typer(cache_app, name="cache")
app.add_typer(pipelines_app, name="pipelines")
app.add_typer(schedules_app, name="schedules")


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app that parses ``args``: a root holding only the command or group that ``args``
    name first, else (help, ``--version``, a mistyped name, which is answered with the
    names it may have meant) :data:`app` itself.

    Typer builds every command's options from its signature before it parses anything:
    for all of legato's commands that is ~135M instructions, a twentieth of a whole
    ``legato run``, which needs one of them. What the command does, says and prints is the
    same either way (its usage line is built from the names on the command line)."""
    name = args[0] if args else ""
    for command in app.registered_commands:
        callback = command.callback
        if command.name == name or (
            command.name is None
            and callback is not None
            and get_command_name(callback.__name__) == name
        ):
            root = _root()
            root.registered_commands.append(command)
            return root
    for group in app.registered_groups:
        if group.name == name:
            root = _root()
            root.registered_groups.append(group)
            return root
    return app


def main() -> None:
    """Entry point of the ``legato`` command."""
    app_for(sys.argv[1:])(prog_name="legato")
