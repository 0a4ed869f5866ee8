"""``legato run``, ``legato resume`` and ``legato cancel``: start a run, continue one, stop
one from another terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from legato.cli.boundary import call
from legato.cli.commands.options import (
    EXIT_STATUSES,
    SETTINGS,
    Capacity,
    Executor,
    Logs,
    Profile,
    RunRef,
    Target,
)

__all__ = ["commands"]

commands = typer.Typer(context_settings=SETTINGS)
"""Top-level commands: :mod:`legato.cli.app` adds them to ``legato`` itself."""


@commands.command(
    epilog=EXIT_STATUSES,
    short_help="Run a pipeline with live progress; Ctrl-C cancels cleanly.",
    help="Run a pipeline, showing its progress, then a table of its tasks, the run id and "
    "the orchestration overhead per task. Ctrl-C cancels cleanly (running tasks are stopped, "
    "the run is recorded as cancelled and can be resumed); a second Ctrl-C stops at once.",
)
def run(
    target: Target,
    *,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="A run parameter, converted to the type the pipeline declares for it "
            "(lists and dicts as JSON); repeat for more.",
            show_default=False,
        ),
    ] = None,
    executor: Executor = None,
    capacity: Capacity = None,
    profile: Profile = None,
    cache: Annotated[
        bool,
        typer.Option("--cache/--no-cache", help="Reuse stored results of unchanged tasks."),
    ] = True,
    fail_fast: Annotated[
        bool | None,
        typer.Option(
            "--fail-fast/--keep-going",
            help="When a task fails: stop everything, or let independent tasks finish "
            "(default: the profile's, else the pipeline's own policy).",
            show_default=False,
        ),
    ] = None,
    refresh: Annotated[
        list[str] | None,
        typer.Option(
            "--refresh",
            metavar="TASK",
            help="Run this task again even if its result is cached; repeat for more.",
            show_default=False,
        ),
    ] = None,
    logs: Logs = True,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            metavar="ID",
            help="Give the run this id; refused if a run has it already (legato scheduler "
            "names each instant's run so, so that an instant never makes two runs).",
            show_default=False,
        ),
    ] = None,
) -> None:
    from legato.cli.running import run_command

    call(
        lambda: run_command(
            target,
            param or [],
            executor=executor,
            capacity=capacity,
            profile=profile,
            cache=cache,
            fail_fast=fail_fast,
            refresh=refresh or [],
            logs=logs,
            run_id=run_id,
        )
    )


@commands.command(
    epilog=EXIT_STATUSES,
    short_help="Continue a failed, cancelled or crashed run where it stopped.",
    help="Continue a failed, cancelled or crashed run where it stopped: tasks that "
    "succeeded keep their outputs and do not run again.",
)
def resume(
    run_id: RunRef,
    executor: Executor = None,
    capacity: Capacity = None,
    profile: Profile = None,
    logs: Logs = True,
) -> None:
    from legato.cli.running import resume_command

    call(
        lambda: resume_command(
            run_id, executor=executor, capacity=capacity, profile=profile, logs=logs
        )
    )


@commands.command(
    short_help="Cancel a running run from another terminal.",
    help="Cancel a run started on this machine: its orchestrator stops the running tasks and "
    "records the run as cancelled (resumable).",
)
def cancel(
    run_id: RunRef,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            help="How long to wait for the run to end (0: do not wait).",
        ),
    ] = 30.0,
    profile: Profile = None,
) -> None:
    from legato.cli.cancel import cancel_command

    call(lambda: cancel_command(run_id, wait=wait, profile=profile))
