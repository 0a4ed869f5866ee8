"""``legato runs`` and ``legato runs show``: what the run store holds about runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from legato.cli.attempts import attempts_of
from legato.cli.exits import OK
from legato.cli.formats import STATE_STYLES, console, duration, timestamp
from legato.cli.run_details import output_text, print_attempt_errors, tracked_table
from legato.cli.run_overview import (
    SHOWN_TASKS,
    counts_text,
    print_noticed,
    print_task_page,
    step_table,
)
from legato.cli.settings import load, mask, open_storage
from legato.cli.stores import missing_store, open_existing, store_name
from legato.cli.summary import in_display_order, task_table
from legato.engine.reducer import fold
from legato.engine.tracked import summarize
from legato.model.events import (
    RollbackPlanned,
    RollbackTransitioned,
    RunTransitioned,
)
from legato.model.records import TaskRecord
from legato.model.rollback import CompensationRecord
from legato.model.runs import RunInfo
from legato.model.states import CRASHED, RunState
from legato.query.detail import state_counts
from legato.query.runs import shown_state
from legato.store.base import ArtifactStore, RunStore

__all__ = ["list_command", "show_command"]

_LIVE = tuple(state for state in RunState if not state.is_terminal)
"""States a run may show as ``crashed`` in (it has not ended)."""


def _duration(info: RunInfo, state: str, now: float) -> str:
    """How long the run ran: to its end; for a crashed run, to the last sign of life the
    store holds (its last heartbeat, which every commit of events renews); for a live one,
    so far."""
    if info.ended_at is not None:
        return duration(info.ended_at - info.created_at)
    if state == CRASHED:
        return duration(info.heartbeat_at - info.created_at)
    return duration(now - info.created_at) + "…"


def list_command(
    *, pipeline: str | None, state: str | None, limit: int, profile: str | None
) -> int:
    """``legato runs``: a table of runs, newest first."""
    settings = load(profile)
    out = console()
    missing = missing_store(settings)
    if missing is not None:
        out.print(missing, markup=False, soft_wrap=True)
        return OK
    store = open_storage(settings, read_only=True).runs
    now = time.time()
    if state is None:
        runs = store.list_runs(pipeline=pipeline, limit=limit)
    elif state in (CRASHED, *(s.value for s in _LIVE)):
        # Live and crashed runs differ only by their orchestrator's liveness: filter here.
        wanted = list(_LIVE) if state == CRASHED else [RunState(state)]
        found: list[RunInfo] = []
        for run_state in wanted:
            found += store.list_runs(pipeline=pipeline, state=run_state, limit=10_000)
        runs = [r for r in found if shown_state(r, settings.stale_after, now) == state]
        runs = sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True)[:limit]
    else:
        runs = store.list_runs(pipeline=pipeline, state=RunState(state), limit=limit)
    if not runs:
        where = store_name(settings)
        said = f"no runs in {where} match" if pipeline or state else f"no runs yet in {where}"
        out.print(said, markup=False, soft_wrap=True)
        return OK
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name in ("run", "pipeline", "state", "started", "duration"):
        table.add_column(name, justify="right" if name == "duration" else "left")
    for info in runs:
        shown = shown_state(info, settings.stale_after, now)
        table.add_row(
            info.run_id,
            info.pipeline,
            Text(shown, style=STATE_STYLES.get(shown, "")),
            timestamp(info.created_at),
            _duration(info, shown, now),
        )
    out.print(table)
    return OK


def show_command(
    run_ref: str,
    *,
    profile: str | None,
    tasks: bool = False,
    state: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> int:
    """``legato runs show RUN``: the run's parameters, where it ran, its tasks (each one, or
    of a run of more than :data:`~legato.cli.run_overview.SHOWN_TASKS` per step and the
    ones that need a look), what they tracked, the pipeline's output and the errors of the
    attempts that failed. ``tasks``: a page of its tasks (in ``state``) instead."""
    settings = load(profile)
    storage = open_existing(settings, f"run {run_ref!r}")
    store = storage.runs
    info = store.get_run(run_ref)
    out = console()
    if tasks:
        print_task_page(out, store, info.run_id, state=state, offset=offset, limit=limit)
        return OK
    now = time.time()
    shown = shown_state(info, settings.stale_after, now)
    steps = store.step_counts(info.run_id)
    counts = state_counts(steps)
    out.print(_facts(info, shown, counts, now))
    out.print()
    big = sum(counts.values()) > SHOWN_TASKS
    records: list[TaskRecord] = []
    if big:
        out.print(step_table(steps))
        print_noticed(out, store, info.run_id, counts)
    else:
        records = store.task_records(info.run_id)
        out.print(task_table(records)[0])
    summary = summarize(store, info.run_id, extremes=big, info=info)
    if summary.params or summary.series or summary.tags or summary.artifacts:
        out.print()
        order = [r.key for r in in_display_order(records)]
        out.print(tracked_table(summary, storage.artifacts, order, counted=not big))
    if info.state is RunState.SUCCEEDED:
        out.print()
        output = store.run_output(info.run_id)
        out.print(_output_line(output, store, info, storage.artifacts), soft_wrap=True)
    if not big:
        print_attempt_errors(out, attempts_of(store.read_events(info.run_id)), records)
    rollback = {} if info.state is RunState.SUCCEEDED else _rollback(store, info.run_id)
    if rollback:
        out.print()
        out.print(rollback_table(rollback))
    if shown in (RunState.FAILED.value, RunState.CANCELLED.value, CRASHED):
        out.print()
        if rollback and not unfinished_rollback(rollback):
            out.print("its work was rolled back: start a new run to try again", markup=False)
        else:
            out.print(f"resume it with: legato resume {info.run_id}", markup=False)
    return OK


_ROLLBACK_EVENTS = (RunTransitioned, RollbackPlanned, RollbackTransitioned)
"""What the reducer folds a run's rollback from: its plan, each compensation's changes, and
the run's own (a resume clears a finished rollback); never its task events."""


def _rollback(store: RunStore, run_id: str) -> dict[str, CompensationRecord]:
    """The run's rollback, as the reducer folds it from its rollback and run events (a scan
    of its events, not read for a run that succeeded: a rollback follows a failure, and the
    resume that runs the work again clears it)."""
    events = store.read_events(run_id, kinds=_ROLLBACK_EVENTS)
    return fold(events).rollbacks if events else {}


def _facts(info: RunInfo, shown: str, counts: Mapping[str, int], now: float) -> Table:
    """The run's own fields, where it ran and its tasks per state, a row each."""
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("run", info.run_id)
    facts.add_row("pipeline", f"{info.pipeline}  ({info.target or 'not importable again'})")
    state = Text(shown, style=STATE_STYLES.get(shown, ""))
    if info.reason:
        state.append(f"  {mask(info.reason)}")
    if shown == CRASHED:
        state.append(f"  (no heartbeat since {timestamp(info.heartbeat_at)})")
    facts.add_row("state", state)
    facts.add_row(
        "started",
        f"{timestamp(info.created_at)}   ended {timestamp(info.ended_at)}   "
        f"duration {_duration(info, shown, now)}",
    )
    facts.add_row("executor", info.executor or "-")
    facts.add_row("params", Text(mask(_params(info.params))))
    for name, value in _environment(info.environment):
        facts.add_row(name, Text(mask(value)))
    facts.add_row("tasks", counts_text(counts))
    return facts


def _output_line(
    output: Mapping[str, Any] | None, store: RunStore, info: RunInfo, artifacts: ArtifactStore
) -> Text:
    """``output`` and the pipeline's return value as far as it can be shown (see
    :func:`~legato.cli.run_details.output_text`), on one line however long; ``output``:
    how it is made (:meth:`~legato.store.base.RunStore.run_output`)."""
    line = Text("output  ", style="bold")
    if output is not None:
        line.append(mask(output_text(output, store, info, artifacts)))
    else:
        line.append(
            "not recorded (by a legato older than this one): legato artifacts lists the "
            "outputs of its tasks",
            style="dim",
        )
    return line


def unfinished_rollback(rollback: Mapping[str, CompensationRecord]) -> list[str]:
    """The compensations a resume would still run."""
    return [key for key, c in rollback.items() if not c.done]


def rollback_table(rollback: Mapping[str, CompensationRecord]) -> Table:
    """The rollback of a failed run: each compensation in the order it ran, and how."""
    table = Table(
        title="rollback", title_justify="left", box=None, header_style="bold", show_edge=False
    )
    for name in ("task", "rollback", "tries", "took", "error"):
        table.add_column(name)
    for key, c in rollback.items():
        took = duration(c.ended_at - c.started_at) if c.started_at and c.ended_at else "-"
        shown = c.state.value
        table.add_row(
            Text(key),  # not markup: an item key in brackets is no style tag
            Text(shown, style=STATE_STYLES.get(shown, "")),
            str(c.attempt),
            took,
            Text(mask(c.error.summary() if c.error else "")),
        )
    return table


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none"


def _environment(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if env.get("python"):
        where = f" on {env['platform']}" if env.get("platform") else ""
        rows.append(("python", f"{env['python']} ({env.get('implementation', '')}){where}"))
    git = env.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        rows.append(("git", f"{str(git['commit'])[:12]}{dirty} in {git.get('root', '?')}"))
    if env.get("host"):
        user = f" as {env['user']}" if env.get("user") else ""
        pid = f", pid {env['pid']}" if env.get("pid") else ""
        rows.append(("host", f"{env['host']}{user}{pid}"))
    if env.get("cwd"):
        rows.append(("folder", str(env["cwd"])))
    if env.get("profile"):
        rows.append(("profile", f"{env['profile']} ({env.get('config', '')})"))
    return rows
