"""What the command declarations share: the arguments and options several commands take,
the help's exit-status note, and the group that defaults to its ``list`` command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from legato.cli.choices import EXECUTORS

__all__ = [
    "Capacity",
    "EXIT_STATUSES",
    "SETTINGS",
    "DefaultGroup",
    "Executor",
    "Logs",
    "Profile",
    "RunRef",
    "Target",
    "one_of",
]

EXIT_STATUSES = (
    "Exit status: 0 the run succeeded; 1 it failed (it is recorded: legato resume RUN "
    "continues it); 2 nothing ran (a wrong option, parameter, target or pipeline "
    "definition); 130 it was cancelled (Ctrl-C, SIGTERM or legato cancel; resumable)."
)

SETTINGS = {"help_option_names": ["-h", "--help"]}
"""Click context settings of every group: ``-h`` as well as ``--help``."""


class DefaultGroup(TyperGroup):
    """A group whose arguments go to its ``list`` command when they name no other, so
    ``legato runs --state failed`` and ``legato artifacts RUN`` work as written."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


def one_of(choices: tuple[str, ...]) -> Callable[[str | None], str | None]:
    """An option's check that its value is one of ``choices``: for choices derived from the
    model at run time (:mod:`legato.cli.choices`), which an enum written here would repeat."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="Profile of legato.toml to use (default: LEGATO_PROFILE, else the file's "
        "default_profile).",
        show_default=False,
    ),
]
RunRef = Annotated[str, typer.Argument(metavar="RUN", help="A run id, or a unique prefix of one.")]
Target = Annotated[
    str,
    typer.Argument(
        metavar="TARGET",
        help="The pipeline: path/to/file.py:name or package.module:name (the name may be "
        "left out when the module defines one pipeline).",
    ),
]
Executor = Annotated[
    str | None,
    typer.Option(
        "--executor",
        "-e",
        metavar="NAME",
        help=f"Where tasks run: {', '.join(EXECUTORS)} (default: the profile's, else threads).",
        show_default=False,
    ),
]
Capacity = Annotated[
    str | None,
    typer.Option(
        "--capacity",
        metavar="NAME=AMOUNT,...",
        help="What the executor offers, over the machine's and the profile's capacity: cpus, "
        "memory, gpus, slots or a custom resource tasks ask for (e.g. gpus=1,db=2).",
        show_default=False,
    ),
]
Logs = Annotated[
    bool,
    typer.Option("--logs/--no-logs", help="Show what tasks print, prefixed with the task."),
]
