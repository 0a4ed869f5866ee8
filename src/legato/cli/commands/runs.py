"""``legato runs``: list runs, show one, compare several."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.choices import RUN_STATES, TASK_STATES
from legato.cli.commands.options import SETTINGS, DefaultGroup, Profile, RunRef, one_of

__all__ = ["runs_app"]

runs_app = typer.Typer(
    cls=DefaultGroup,
    help="List runs (newest first), or show one.",
    context_settings=SETTINGS,
)


@runs_app.command(
    "list", help="List runs, newest first (crashed: not ended, its orchestrator dead)."
)
def runs_list(
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", metavar="NAME", help="Only runs of this pipeline."),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="STATE",
            callback=one_of(RUN_STATES),
            help=f"Only runs in this state: {', '.join(RUN_STATES)}.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most this many runs.", min=1)
    ] = 20,
    profile: Profile = None,
) -> None:
    from legato.cli.runs import list_command

    call(
        lambda: list_command(
            pipeline=pipeline,
            state=state,
            limit=limit,
            profile=profile,
        )
    )


@runs_app.command(
    "show",
    help="A run's parameters, where it ran, its tasks (of a big run: per step, and those that "
    "failed or run) and errors; with --tasks a page of its tasks.",
)
def runs_show(
    run_id: RunRef,
    *,
    tasks: Annotated[
        bool,
        typer.Option("--tasks", help="List the run's tasks a page at a time instead."),
    ] = False,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="STATE",
            callback=one_of(TASK_STATES),
            help=f"With --tasks: only tasks in this state: {', '.join(TASK_STATES)}.",
            show_default=False,
        ),
    ] = None,
    offset: Annotated[
        int, typer.Option("--offset", help="With --tasks: from the task at this index.", min=0)
    ] = 0,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="With --tasks: at most this many tasks.", min=1)
    ] = 50,
    profile: Profile = None,
) -> None:
    from legato.cli.runs import show_command

    call(
        lambda: show_command(
            run_id,
            profile=profile,
            tasks=tasks or state is not None,
            state=state,
            offset=offset,
            limit=limit,
        )
    )


@runs_app.command(
    "compare",
    help="Parameters and metrics (final, lowest, highest value) of runs side by side: the "
    "runs named, or with --last N the N newest (of --pipeline), oldest first. A task that "
    "was a cache hit shows the values of the run that produced its output.",
)
def runs_compare(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[RUN...]", help="Run ids, or unique prefixes of them.", show_default=False
        ),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option("--last", metavar="N", min=1, help="The N newest runs instead of ids."),
    ] = None,
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", metavar="NAME", help="With --last: only runs of NAME."),
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.compare import compare_command

    call(lambda: compare_command(run_ids or [], last=last, pipeline=pipeline, profile=profile))
