"""``legato artifacts`` and ``legato cache``: stored task outputs, and the cache of task
results."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, DefaultGroup, Profile, RunRef

__all__ = ["artifacts_app", "cache_app"]

artifacts_app = typer.Typer(
    cls=DefaultGroup,
    help="List a run's stored task outputs, or write one to a file.",
    context_settings=SETTINGS,
)
cache_app = typer.Typer(help="Manage the cache of task results.", context_settings=SETTINGS)


@artifacts_app.command(
    "list",
    help="A run's stored task outputs, then the artifacts its tasks logged: serializer, "
    "size, location, checksum.",
)
def artifacts_list(run_id: RunRef, profile: Profile = None) -> None:
    from legato.cli.artifacts import list_command

    call(lambda: list_command(run_id, profile=profile))


@artifacts_app.command(
    "get",
    help="Write the stored bytes of a task's output (or of an artifact it logged) to a "
    "file, checked against its checksum. A mapped task's items go into a folder, one file "
    "each.",
)
def artifacts_get(
    run_id: RunRef,
    task: Annotated[
        str,
        typer.Argument(
            metavar="TASK", help="The task key: train, an item train[0], or a mapped task."
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Where to write: a file, - for standard output, a folder for a mapped task.",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The artifact TASK logged with log_artifact under NAME, not its output.",
            show_default=False,
        ),
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.artifacts import get_command

    call(lambda: get_command(run_id, task, output, name=name, profile=profile))


@cache_app.command(
    "clear",
    help="Forget cached task results, so those tasks run again: one task's, or all of them "
    "(asked on a terminal, else --yes).",
)
def cache_clear(
    task: Annotated[
        str | None, typer.Option("--task", metavar="NAME", help="Only this task's entries.")
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Forget every entry without asking (needed when standard input is not a "
            "terminal).",
        ),
    ] = False,
    profile: Profile = None,
) -> None:
    from legato.cli.cache import clear_cache_command

    call(lambda: clear_cache_command(task, yes=yes, profile=profile))
