"""``legato logs``, ``legato metrics``, ``legato graph`` and ``legato doctor``: what tasks
wrote and tracked, what a pipeline looks like, and whether the setup works."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import SETTINGS, Profile, RunRef, Target

__all__ = ["GraphFormat", "commands"]

commands = typer.Typer(context_settings=SETTINGS)
"""Top-level commands: :mod:`legato.cli.app` adds them to ``legato`` itself."""


class GraphFormat(StrEnum):
    """Formats of ``legato graph``."""

    text = "text"
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


@commands.command(help="Print what a run's tasks wrote (stdout, stderr, logging), or one task's.")
def logs(
    run_id: RunRef,
    task: Annotated[
        str | None,
        typer.Argument(
            metavar="TASK", help="A task key (a mapped task: all its items).", show_default=False
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")
    ] = False,
    profile: Profile = None,
) -> None:
    from legato.cli.logs import logs_command

    call(lambda: logs_command(run_id, task, follow=follow, profile=profile))


@commands.command(
    help="The series of the metrics a run's tasks logged: step, value and time, with a "
    "sparkline per metric on a terminal.",
)
def metrics(
    run_id: RunRef,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            metavar="NAME",
            help="Only this metric: its name, or TASK/NAME for one task's; repeat for more.",
            show_default=False,
        ),
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.metrics import metrics_command

    call(lambda: metrics_command(run_id, keys=key or [], profile=profile))


@commands.command(help="Draw a pipeline's graph, known before anything runs.")
def graph(
    target: Target,
    format: Annotated[
        GraphFormat,
        typer.Option("--format", "-f", help="svg needs Graphviz's dot program."),
    ] = GraphFormat.text,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to FILE instead of standard output."
        ),
    ] = None,
) -> None:
    from legato.cli.graph import graph_command

    call(lambda: graph_command(target, format=format.value, output=output))


@commands.command(
    short_help="Show the settings in effect and check the stores and the executor.",
    help="Show the settings in effect and where they come from, and check that the run "
    "store, the artifact store and the executor work; count the temporary files that "
    "interrupted writes left. It changes nothing (the run store is opened read-only) unless "
    "--fix. Exit status 1 if a check fails.",
)
def doctor(
    profile: Profile = None,
    *,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Bring the run store's schema up to date and remove the temporary files "
            "of interrupted writes.",
        ),
    ] = False,
) -> None:
    from legato.cli.doctor import doctor_command

    call(lambda: doctor_command(profile=profile, fix=fix))
