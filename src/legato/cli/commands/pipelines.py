"""``legato pipelines``: the pipelines ``legato ui`` may start."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, DefaultGroup, Profile

__all__ = ["pipelines_app"]

pipelines_app = typer.Typer(
    cls=DefaultGroup,
    help="The pipelines legato ui may start: register one, list them, remove one. They are "
    "kept in pipelines.json in the legato home; the pipelines table of legato.toml names "
    "more.",
    context_settings=SETTINGS,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The name the API knows it by.")]


@pipelines_app.command(
    "add",
    help="Register TARGET (path/to/file.py:name or package.module:name) as NAME, once it "
    "loads and is a @pipeline. A file's path is kept relative to the project root.",
)
def pipelines_add(
    name: Name,
    target: Annotated[
        str,
        typer.Argument(metavar="TARGET", help="path/to/file.py:name or package.module:name."),
    ],
    profile: Profile = None,
) -> None:
    from legato.cli.pipelines import add_command

    call(lambda: add_command(name, target, profile=profile))


@pipelines_app.command("list", help="The pipelines legato ui would serve, and where each is named.")
def pipelines_list(profile: Profile = None) -> None:
    from legato.cli.pipelines import list_command

    call(lambda: list_command(profile=profile))


@pipelines_app.command("remove", help="Forget a registered pipeline (its runs stay recorded).")
def pipelines_remove(name: Name, profile: Profile = None) -> None:
    from legato.cli.pipelines import remove_command

    call(lambda: remove_command(name, profile=profile))
