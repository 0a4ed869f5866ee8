"""``legato runs``, ``legato runs show`` and ``legato logs``: what the run store holds."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from legato.cli.choices import CRASHED
from legato.cli.exits import CANCELLED, OK, USAGE, CommandError
from legato.cli.formats import STATE_STYLES, console, duration, timestamp
from legato.cli.settings import load, mask, open_storage
from legato.cli.summary import task_table
from legato.engine.reducer import fold
from legato.model.rollback import CompensationRecord
from legato.model.runs import LogEntry, RunInfo
from legato.model.states import RUN_TERMINAL, RunState, TaskState
from legato.store.base import RunStore

__all__ = ["list_command", "logs_command", "shown_state", "show_command"]

_FOLLOW_EVERY = 0.5
_LIVE = tuple(state for state in RunState if not state.is_terminal)
"""States a run may show as ``crashed`` in (it has not ended)."""


def shown_state(info: RunInfo, stale_after: float, now: float | None = None) -> str:
    """The run's state, or ``crashed`` for one that has not ended and whose orchestrator
    has not written a heartbeat for ``stale_after`` seconds."""
    now = time.time() if now is None else now
    if not info.state.is_terminal and now - info.heartbeat_at > stale_after:
        return CRASHED
    return info.state.value


def _duration(info: RunInfo, state: str, now: float) -> str:
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
    store = open_storage(settings, read_only=True).runs
    now = time.time()
    if state is None:
        runs = store.list_runs(pipeline=pipeline, limit=limit)
    elif state in (CRASHED, *(s.value for s in _LIVE)):
        # Live and crashed runs differ only by their heartbeat: filter here.
        wanted = list(_LIVE) if state == CRASHED else [RunState(state)]
        found: list[RunInfo] = []
        for run_state in wanted:
            found += store.list_runs(pipeline=pipeline, state=run_state, limit=10_000)
        runs = [r for r in found if shown_state(r, settings.stale_after, now) == state]
        runs = sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True)[:limit]
    else:
        runs = store.list_runs(pipeline=pipeline, state=RunState(state), limit=limit)
    out = console()
    if not runs:
        out.print("no runs" + (" match" if pipeline or state else " yet"), markup=False)
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


def show_command(run_ref: str, *, profile: str | None) -> int:
    """``legato runs show RUN``: the run's parameters, where it ran, and every task."""
    settings = load(profile)
    store = open_storage(settings, read_only=True).runs
    info = store.get_run(run_ref)
    records = store.task_records(info.run_id)
    out = console()
    now = time.time()
    shown = shown_state(info, settings.stale_after, now)
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
    out.print(facts)
    out.print()
    table, _ = task_table(records)
    out.print(table)
    failed = [r for r in records if r.state in (TaskState.FAILED, TaskState.TIMED_OUT)]
    for record in failed:
        if record.error is not None and record.error.type_name == "legato.MapItemsFailed":
            continue
        out.print()
        out.print(Text(f"{record.key} {record.state.value} (attempt {record.attempt}):", "red"))
        text = record.reason
        if record.error is not None:
            text = record.error.traceback or record.error.summary()
        out.print(Text(mask(text).rstrip()), soft_wrap=True)
    rollback = fold(store.read_events(info.run_id)).rollbacks if records else {}
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


def logs_command(run_ref: str, task: str | None, *, follow: bool, profile: str | None) -> int:
    """``legato logs RUN [TASK]``: the captured output; with ``follow``, until the run ends."""
    settings = load(profile)
    store = open_storage(settings, read_only=True).runs
    info = store.get_run(run_ref)
    keys = _task_keys(store, info.run_id, task)
    out = console()
    prefix = keys is None or len(keys) > 1
    seq = _print_logs(out, store.read_logs(info.run_id), keys, prefix=prefix)
    if not follow:
        return OK
    try:
        while True:
            current = store.get_run(info.run_id)
            ended = current.state in RUN_TERMINAL or (
                shown_state(current, settings.stale_after) == CRASHED
            )
            seq = max(
                seq,
                _print_logs(out, store.read_logs(info.run_id, after_seq=seq), keys, prefix=prefix),
            )
            if ended:
                return OK
            if keys is not None and task is not None:
                keys = _task_keys(store, info.run_id, task)  # a map's items appear
            time.sleep(_FOLLOW_EVERY)
    except KeyboardInterrupt:
        return CANCELLED


def _task_keys(store: RunStore, run_id: str, task: str | None) -> set[str] | None:
    """The task keys whose output to show: ``None`` for all; for a mapped task, its items."""
    if task is None:
        return None
    records = store.task_records(run_id)
    keys = {r.key for r in records if task in (r.key, r.parent)}
    if not keys:
        names = ", ".join(r.key for r in records if r.parent is None) or "none"
        raise CommandError(f"run {run_id} has no task {task!r}; its tasks: {names}", USAGE)
    return keys


def _print_logs(
    out: Console, entries: Iterable[LogEntry], keys: set[str] | None, *, prefix: bool
) -> int:
    seq = 0
    for entry in entries:
        seq = max(seq, entry.seq)
        if keys is not None and entry.key not in keys:
            continue
        text = mask(entry.text)
        if prefix:
            key = entry.key if entry.attempt <= 1 else f"{entry.key}#{entry.attempt}"
            for line in text.rstrip("\n").split("\n"):
                out.print(Text(f"{key} | ", style="dim") + Text(line), soft_wrap=True)
        else:
            out.file.write(text)
    out.file.flush()
    return seq
