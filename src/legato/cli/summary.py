"""The table of a run's tasks, and what a run command says when the run ends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from legato.cli.formats import STATE_STYLES, cache_note, duration, milliseconds
from legato.cli.settings import mask
from legato.model.records import TaskRecord
from legato.model.states import RunState, TaskState

if TYPE_CHECKING:
    from legato.engine.result import RunResult

__all__ = ["ROW_LIMIT", "in_display_order", "print_outcome", "task_table"]

ROW_LIMIT = 50
"""Above this many tasks the end-of-run table lists only those that did not succeed."""


def in_display_order(records: Iterable[TaskRecord]) -> list[TaskRecord]:
    """Tasks in plan order, each map's items right after the map."""
    records = list(records)
    items: dict[str, list[TaskRecord]] = {}
    for record in records:
        if record.parent is not None:
            items.setdefault(record.parent, []).append(record)
    out: list[TaskRecord] = []
    for record in records:
        if record.parent is None:
            out.append(record)
            out.extend(sorted(items.get(record.key, ()), key=lambda r: r.map_index or 0))
    return out


def task_table(records: Iterable[TaskRecord], *, limit: int | None = None) -> tuple[Table, int]:
    """A table with a row per task (task, state, attempts, duration, cache), and how many
    succeeded tasks were left out to keep it within ``limit`` rows."""
    ordered = in_display_order(records)
    hidden = 0
    if limit is not None and len(ordered) > limit:
        shown = [r for r in ordered if r.state is not TaskState.SUCCEEDED or r.mapped]
        hidden = len(ordered) - len(shown)
        ordered = shown
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("task")
    table.add_column("state")
    table.add_column("attempts", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("cache")
    for record in ordered:
        name = record.key
        if record.mapped:
            name += f" ({record.items} items)" if record.items is not None else " (map)"
        state = record.state.value
        attempts = "-" if record.mapped or record.started_at is None else str(record.attempt)
        table.add_row(
            Text(("  " if record.parent else "") + name),
            Text(state, style=STATE_STYLES.get(state, "")),
            attempts,
            duration(record.duration),
            Text(mask(cache_note(record)), style="dim"),
        )
    return table, hidden


def print_outcome(console: Console, result: RunResult) -> None:
    """The end of ``legato run``/``resume``: the task table, the run's state, its id and
    the orchestration overhead per task; why its output was skipped when it was; each
    failure's error and how to resume."""
    records = list(result.tasks.values())
    table, hidden = task_table(records, limit=ROW_LIMIT)
    if table.row_count:
        console.print(table)
    if hidden:
        console.print(
            f"({hidden} succeeded tasks not listed: legato runs show {result.run_id})",
            style="dim",
            markup=False,
        )
    state = result.state.value
    line = Text()
    line.append("run ")
    line.append(result.run_id, style="bold")
    line.append(" ")
    line.append(state, style=STATE_STYLES.get(state, "bold"))
    line.append(f" in {duration(result.duration)} · {result.task_count}")
    hits = result.reused
    if hits:
        line.append(f", {hits} cached")
    line.append(f" · overhead per task: {milliseconds(result.overhead_per_task)}")
    console.print(line, soft_wrap=True)
    if result.state is RunState.SUCCEEDED:
        skipped = result.skipped_output()
        if skipped is not None:  # a decision, not a failure: the exit status stays 0
            console.print(
                Text("output: ", style="bold")
                + Text("skipped", style=STATE_STYLES["skipped"])
                + Text(
                    f", so the pipeline returned no value: task {skipped.task!r} was skipped "
                    f"because {mask(skipped.because)}"
                ),
                soft_wrap=True,
            )
        return
    failures = result.failures()
    for failure in failures[:10]:
        record = result.tasks[failure.task]
        summary = record.error.summary() if record.error is not None else record.reason
        console.print(
            Text(f"{record.state.value}: ", style="red")
            + Text(failure.task, style="bold")
            + Text(f"  {mask(summary)}"),
            soft_wrap=True,
        )
    if len(failures) > 10:
        console.print(f"… and {len(failures) - 10} more failed tasks", markup=False)
    if result.state is RunState.CANCELLED and result.record.reason:
        console.print(f"cancelled: {mask(result.record.reason)}", markup=False)
    console.print(
        f"resume it with: legato resume {result.run_id}   (details: legato runs show "
        f"{result.run_id})",
        markup=False,
        soft_wrap=True,
    )
