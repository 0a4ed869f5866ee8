"""``legato runs show`` of a run too big to list task by task, and its ``--tasks`` pages.

A run of a million tasks is summed up from what the store counts in SQL (tasks per step per
state, :meth:`~legato.store.base.RunStore.step_counts`) and bounded pages of its tasks
(:meth:`~legato.store.base.RunStore.task_page`): the tasks that need a look (failed,
running, retrying) up to :data:`LISTED`, with how many more there are and the command that
pages through them. Nothing here reads every record or every event of the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from legato.cli.formats import STATE_STYLES, cache_note, duration
from legato.cli.settings import mask
from legato.model.records import TaskRecord
from legato.model.states import TaskState
from legato.store.base import RunStore, StepCount

__all__ = [
    "LISTED",
    "NOTICED",
    "SHOWN_TASKS",
    "counts_text",
    "print_noticed",
    "print_task_page",
    "step_table",
]

SHOWN_TASKS = 1000
"""Runs of up to this many tasks are shown task by task; bigger ones step by step."""

LISTED = 20
"""Tasks that need a look listed by ``runs show`` of a big run before the rest are counted."""

NOTICED = (TaskState.FAILED, TaskState.TIMED_OUT, TaskState.RETRY_WAIT, TaskState.RUNNING)
"""The states of the tasks a big run's summary lists: what went wrong and what is under
way, in the order the counts say them."""


def counts_text(counts: Mapping[str, int]) -> Text:
    """``1,000,002: 999,990 succeeded · 12 failed``, each state in its colour, the most
    common first."""
    text = Text(f"{sum(counts.values()):,}")
    if counts:
        text.append(": ")
        text.append_text(_states(counts))
    return text


def step_table(steps: Iterable[StepCount]) -> Table:
    """A row per step (task name) in plan order: how many tasks it has and how many stand
    in each state; a mapped step counted by its items, never a row per item."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("step")
    table.add_column("tasks", justify="right")
    table.add_column("states")
    for step in steps:
        name = Text(step.name)
        maps = sum(step.maps.values())
        if maps:
            name.append(" (map)" if maps == 1 else f" ({maps:,} maps)", style="dim")
        states = _states(step.states) if step.states else Text("no items yet", style="dim")
        table.add_row(name, f"{sum(step.states.values()):,}", states)
    return table


def _states(counts: Mapping[str, int]) -> Text:
    text = Text()
    for i, (state, n) in enumerate(sorted(counts.items(), key=lambda c: (-c[1], c[0]))):
        if i:
            text.append(" · ")
        text.append(f"{n:,} {state}", style=STATE_STYLES.get(state, ""))
    return text


def print_noticed(out: Console, store: RunStore, run_id: str, counts: Mapping[str, int]) -> None:
    """The tasks that failed, timed out, wait for a retry or run, up to :data:`LISTED`, and
    per state how many more there are and how to page through them."""
    noticed = [s for s in NOTICED if counts.get(s.value)]
    if not noticed:
        return
    page = store.task_page(run_id, states=noticed, limit=LISTED)
    out.print()
    out.print(task_rows(page.items))
    if page.total > len(page.items):
        out.print(f"… and {page.total - len(page.items):,} more", markup=False)
    for state in noticed:
        out.print(
            f"{counts[state.value]:,} {state.value}: legato runs show {run_id} --tasks "
            f"--state {state.value}",
            style="dim",
            markup=False,
            soft_wrap=True,
        )


def task_rows(records: Sequence[TaskRecord]) -> Table:
    """A row per task: task, state, attempts, duration, cache, and what its latest attempt's
    error (or its reason) says."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name in ("task", "state", "attempts", "duration", "cache", "error"):
        table.add_column(name, justify="right" if name in ("attempts", "duration") else "left")
    for record in records:
        state = record.state.value
        said = record.error.summary() if record.error is not None else record.reason
        table.add_row(
            Text(record.key),  # not markup: an item key in brackets is no style tag
            Text(state, style=STATE_STYLES.get(state, "")),
            "-" if record.started_at is None else str(record.attempt),
            duration(record.duration),
            Text(mask(cache_note(record)), style="dim"),
            Text(mask(said)),
        )
    return table


def print_task_page(
    out: Console,
    store: RunStore,
    run_id: str,
    *,
    state: str | None,
    offset: int,
    limit: int,
) -> None:
    """``legato runs show RUN --tasks``: ``limit`` of the run's tasks (in ``state``, when
    given) from the ``offset``-th, in the order they appeared, and the command for the
    next page."""
    states = None if state is None else [TaskState(state)]
    page = store.task_page(run_id, states=states, offset=offset, limit=limit)
    which = f" {state}" if state else ""
    if not page.items:
        out.print(
            f"no{which} tasks from {offset:,} on: run {run_id} has {page.total:,}{which} tasks",
            markup=False,
        )
        return
    out.print(task_rows(page.items))
    end = offset + len(page.items)
    out.print(f"tasks {offset + 1:,} to {end:,} of {page.total:,}{which}", markup=False)
    if end < page.total:
        filtered = f" --state {state}" if state else ""
        out.print(
            f"next: legato runs show {run_id} --tasks{filtered} --offset {end} --limit {limit}",
            style="dim",
            markup=False,
            soft_wrap=True,
        )
