"""The ``legato`` command: its commands, options and help, and how errors end a command.

This module imports only typer and legato's light modules: each command imports what it
needs (the engine, the store, SQLAlchemy) when it runs, so ``legato --help`` starts fast.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from legato._version import __version__
from legato.cli.choices import EXECUTORS, RUN_STATES
from legato.cli.exits import CANCELLED, FAILED, USAGE, CommandError

__all__ = ["app", "main"]

_EXIT_STATUSES = (
    "Exit status: 0 the run succeeded; 1 it failed (it is recorded: legato resume RUN "
    "continues it); 2 nothing ran (a wrong option, parameter, target or pipeline "
    "definition); 130 it was cancelled (Ctrl-C, SIGTERM or legato cancel; resumable)."
)


class _DefaultGroup(TyperGroup):
    """A group whose arguments go to its ``list`` command when they name no other, so
    ``legato runs --state failed`` and ``legato artifacts RUN`` work as written."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


_SETTINGS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="legato",
    help="Run machine-learning pipelines written as plain Python functions, and look at "
    "what they did.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=_SETTINGS,
)
runs_app = typer.Typer(
    cls=_DefaultGroup,
    help="List runs (newest first), or show one.",
    context_settings=_SETTINGS,
)
artifacts_app = typer.Typer(
    cls=_DefaultGroup,
    help="List a run's stored task outputs, or write one to a file.",
    context_settings=_SETTINGS,
)
cache_app = typer.Typer(help="Manage the cache of task results.", context_settings=_SETTINGS)
models_app = typer.Typer(
    cls=_DefaultGroup,
    help="The model registry: list models, show one, promote, roll back, delete versions.",
    context_settings=_SETTINGS,
)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(artifacts_app, name="artifacts")
app.add_typer(cache_app, name="cache")


def _one_of(choices: tuple[str, ...]) -> Callable[[str | None], str | None]:
    """An option's check that its value is one of ``choices``: for choices derived from the
    model at run time (:mod:`legato.cli.choices`), which an enum written here would repeat."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


class GraphFormat(StrEnum):
    """Formats of ``legato graph``."""

    text = "text"
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


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
Logs = Annotated[
    bool,
    typer.Option("--logs/--no-logs", help="Show what tasks print, prefixed with the task."),
]


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


def _call(command: Callable[[], int]) -> None:
    """Run a command's body and end with its exit status; known errors become one line on
    standard error and their status (see :mod:`legato.cli.exits`)."""
    try:
        code = command()
    except CommandError as exc:
        _complain(exc.message)
        code = exc.code
    except KeyboardInterrupt:
        _complain("interrupted")
        code = CANCELLED
    except Exception as exc:
        code = _error_status(exc)
    raise typer.Exit(code)


def _error_status(exc: Exception) -> int:
    from legato.cli.settings import mask
    from legato.errors import (
        ConfigError,
        DefinitionError,
        InvalidNameError,
        LegatoError,
        ParameterError,
        UnknownModelError,
        UnknownRunError,
    )

    if isinstance(
        exc,
        DefinitionError
        | ParameterError
        | ConfigError
        | UnknownRunError
        | InvalidNameError
        | UnknownModelError,
    ):
        _complain(mask(str(exc)))
        return USAGE
    if isinstance(exc, LegatoError):
        _complain(mask(str(exc)))
        return FAILED
    _complain(mask("".join(traceback.format_exception(exc))).rstrip())
    return FAILED


def _complain(message: str) -> None:
    from rich.text import Text

    from legato.cli.formats import error_console

    error_console().print(Text("error: ", style="bold red") + Text(message))


@app.command(
    epilog=_EXIT_STATUSES,
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
) -> None:
    from legato.cli.running import run_command

    _call(
        lambda: run_command(
            target,
            param or [],
            executor=executor,
            profile=profile,
            cache=cache,
            fail_fast=fail_fast,
            refresh=refresh or [],
            logs=logs,
        )
    )


@app.command(
    epilog=_EXIT_STATUSES,
    short_help="Continue a failed, cancelled or crashed run where it stopped.",
    help="Continue a failed, cancelled or crashed run where it stopped: tasks that "
    "succeeded keep their outputs and do not run again.",
)
def resume(
    run_id: RunRef, executor: Executor = None, profile: Profile = None, logs: Logs = True
) -> None:
    from legato.cli.running import resume_command

    _call(lambda: resume_command(run_id, executor=executor, profile=profile, logs=logs))


@runs_app.command("list", help="List runs, newest first (crashed: not ended, no heartbeat).")
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
            callback=_one_of(RUN_STATES),
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

    _call(
        lambda: list_command(
            pipeline=pipeline,
            state=state,
            limit=limit,
            profile=profile,
        )
    )


@runs_app.command("show", help="A run's parameters, where it ran, every task, and errors.")
def runs_show(run_id: RunRef, profile: Profile = None) -> None:
    from legato.cli.runs import show_command

    _call(lambda: show_command(run_id, profile=profile))


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

    _call(lambda: compare_command(run_ids or [], last=last, pipeline=pipeline, profile=profile))


ModelName = Annotated[str, typer.Argument(metavar="NAME", help="The model's name.")]
Version = Annotated[str, typer.Argument(metavar="VERSION", help="A version number.")]
Reason = Annotated[
    str, typer.Option("--reason", metavar="TEXT", help="Why, recorded with the change.")
]
Actor = Annotated[
    str | None,
    typer.Option(
        "--actor",
        metavar="WHO",
        help="Who, recorded with the change (default: user@host).",
        show_default=False,
    ),
]


@models_app.command("list", help="Every model with its number of versions and its aliases.")
def models_list(profile: Profile = None) -> None:
    from legato.cli.models import list_command

    _call(lambda: list_command(profile=profile))


@models_app.command(
    "show",
    help="NAME: its versions, aliases and alias history. NAME@ALIAS or NAME:VERSION: that "
    "version with its lineage (run, task, code, inputs, parameters, metrics, environment).",
)
def models_show(
    ref: Annotated[str, typer.Argument(metavar="MODEL", help="NAME, NAME@ALIAS or NAME:VERSION.")],
    profile: Profile = None,
) -> None:
    from legato.cli.models import show_command

    _call(lambda: show_command(ref, profile=profile))


@models_app.command("promote", help="Point an alias (production by default) at a version.")
def models_promote(
    name: ModelName,
    version: Version,
    *,
    alias: Annotated[
        str, typer.Option("--alias", metavar="ALIAS", help="The alias to move.")
    ] = "production",
    reason: Reason = "",
    actor: Actor = None,
    profile: Profile = None,
) -> None:
    from legato.cli.models import promote_command

    _call(
        lambda: promote_command(
            name, version, alias=alias, reason=reason, actor=actor, profile=profile
        )
    )


@models_app.command(
    "rollback",
    help="Move an alias back to the version it named before (one step), or to --to VERSION.",
)
def models_rollback(
    name: ModelName,
    *,
    alias: Annotated[
        str, typer.Option("--alias", metavar="ALIAS", help="The alias to move back.")
    ] = "production",
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="VERSION", help="The version to go back to."),
    ] = None,
    reason: Reason = "",
    actor: Actor = None,
    profile: Profile = None,
) -> None:
    from legato.cli.models import rollback_command

    _call(
        lambda: rollback_command(
            name, alias=alias, to=to, reason=reason, actor=actor, profile=profile
        )
    )


@models_app.command("delete", help="Delete a version no alias points at.")
def models_delete(name: ModelName, version: Version, profile: Profile = None) -> None:
    from legato.cli.models import delete_command

    _call(lambda: delete_command(name, version, profile=profile))


@app.command(help="Print what a run's tasks wrote (stdout, stderr, logging), or one task's.")
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

    _call(lambda: logs_command(run_id, task, follow=follow, profile=profile))


@app.command(
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

    _call(lambda: metrics_command(run_id, keys=key or [], profile=profile))


@app.command(
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

    _call(lambda: cancel_command(run_id, wait=wait, profile=profile))


@app.command(help="Draw a pipeline's graph, known before anything runs.")
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

    _call(lambda: graph_command(target, format=format.value, output=output))


@artifacts_app.command(
    "list",
    help="A run's stored task outputs, then the artifacts its tasks logged: serializer, "
    "size, location, checksum.",
)
def artifacts_list(run_id: RunRef, profile: Profile = None) -> None:
    from legato.cli.artifacts import list_command

    _call(lambda: list_command(run_id, profile=profile))


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

    _call(lambda: get_command(run_id, task, output, name=name, profile=profile))


@cache_app.command("clear", help="Forget cached task results, so those tasks run again.")
def cache_clear(
    task: Annotated[
        str | None, typer.Option("--task", metavar="NAME", help="Only this task's entries.")
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.artifacts import clear_cache_command

    _call(lambda: clear_cache_command(task, profile=profile))


@app.command(
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

    _call(lambda: doctor_command(profile=profile, fix=fix))


@app.command(
    short_help="Serve a registered model over HTTP (POST /predict).",
    help="Serve a model of the registry: POST /predict takes JSON rows or columns, GET "
    "/health and GET /metadata describe it. NAME@ALIAS (or NAME, the latest version) is "
    "followed: when the alias moves, the new version is loaded in the background and "
    "switched in without failing requests. Binds 127.0.0.1; any other address needs a token. "
    "Answers only requests addressed to localhost, 127.0.0.1 or [::1] unless more host names "
    "are allowed with --allowed-host.",
)
def serve(
    model: Annotated[
        str,
        typer.Argument(metavar="MODEL", help="NAME (latest version), NAME@ALIAS or NAME:VERSION."),
    ],
    *,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            help="Require 'Authorization: Bearer TOKEN' (default: LEGATO_SERVE_TOKEN); "
            "required off loopback.",
            show_default=False,
        ),
    ] = None,
    poll: Annotated[
        float,
        typer.Option("--poll", metavar="SECONDS", help="How often to check the alias (0: never)."),
    ] = 1.0,
    max_body: Annotated[
        int, typer.Option("--max-body", metavar="BYTES", help="Largest request body accepted.")
    ] = 16 * 1024 * 1024,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="Also answer requests whose Host is NAME (any port); repeatable. "
            "'*.example.com' allows the names under a domain, '*' any (no DNS-rebinding "
            "protection).",
            show_default=False,
        ),
    ] = None,
    profile: Profile = None,
) -> None:
    from legato.cli.serving import serve_command

    _call(
        lambda: serve_command(
            model,
            host=host,
            port=port,
            token=token,
            poll=poll,
            max_body=max_body,
            profile=profile,
            allowed_hosts=tuple(allowed_host or ()),
        )
    )


def main() -> None:
    """Entry point of the ``legato`` command."""
    app(prog_name="legato")
