"""The runs grid: the latest runs (rows) x their tasks (columns), each cell a task's state,
paged by tasks.

Built from each run's planned tasks and its map items counted per state, never from each
item's record or each task's attempts: 25 runs of 1,000 tasks (or of a 100,000-item map)
are 25 small reads, where reading every run's whole task list took seconds. A mapped task
is one column; its cell carries its items' counts per state."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from legato.errors import ParameterError
from legato.query.runs import RunFilter, list_runs, shown_state
from legato.query.views import RunSummary, run_summary
from legato.store.base import RunStore

__all__ = [
    "MAX_GRID_COLUMNS",
    "MAX_GRID_RUNS",
    "GridCell",
    "GridRow",
    "RunsGrid",
    "grid_of",
    "runs_grid",
]

MAX_GRID_RUNS = 100
"""The most runs (rows) one grid holds."""
MAX_GRID_COLUMNS = 500
"""The most task columns one page of a grid holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GridCell:
    """One run's task in one column."""

    state: str
    """The task's state (a map's: its group's)."""
    items: dict[str, int] | None = None
    """For a mapped task: how many of its items stand in each state."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GridRow:
    """One run and its cells, by column key (a column the run has no such task in is
    absent)."""

    run: RunSummary
    cells: dict[str, GridCell]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunsGrid:
    """A page of columns: the union of the runs' planned task keys in plan order (the
    first run's order, then each later run's new keys), ``offset`` on."""

    columns: tuple[str, ...]
    total_columns: int
    """How many columns all pages hold together."""
    offset: int
    rows: tuple[GridRow, ...]


def runs_grid(
    store: RunStore,
    runs: Sequence[RunSummary],
    *,
    task_offset: int = 0,
    task_limit: int = 60,
) -> RunsGrid:
    """The grid of ``runs`` (rows, in the order given), columns ``task_offset`` to
    ``task_offset + task_limit``."""
    if len(runs) > MAX_GRID_RUNS:
        raise ParameterError(f"a grid holds at most {MAX_GRID_RUNS} runs, not {len(runs)}")
    if not 1 <= task_limit <= MAX_GRID_COLUMNS or task_offset < 0:
        raise ParameterError(
            f"ask for 1 to {MAX_GRID_COLUMNS} task columns from an offset of 0 or more"
        )
    planned = [store.planned_tasks(r.run_id) for r in runs]
    columns = list(dict.fromkeys(t.key for tasks in planned for t in tasks))
    page = columns[task_offset : task_offset + task_limit]
    wanted = frozenset(page)
    rows = []
    for run, tasks in zip(runs, planned, strict=True):
        shown = [t for t in tasks if t.key in wanted]
        counts = store.item_counts(run.run_id) if any(t.mapped for t in shown) else {}
        cells = {
            t.key: GridCell(
                state=t.state.value,
                items=dict(sorted(counts.get(t.key, {}).items())) if t.mapped else None,
            )
            for t in shown
        }
        rows.append(GridRow(run=run, cells=cells))
    return RunsGrid(
        columns=tuple(page), total_columns=len(columns), offset=task_offset, rows=tuple(rows)
    )


def grid_of(
    store: RunStore,
    run_ids: Sequence[str] = (),
    *,
    pipeline: str | None = None,
    limit: int = 25,
    stale_after: float,
    task_offset: int = 0,
    task_limit: int = 60,
) -> RunsGrid:
    """The grid of runs ``run_ids`` (ids or unique prefixes, rows in that order) or, when
    none are given, of the latest ``limit`` runs (of ``pipeline``, when given)."""
    if not 1 <= limit <= MAX_GRID_RUNS or len(run_ids) > MAX_GRID_RUNS:
        raise ParameterError(f"a grid holds 1 to {MAX_GRID_RUNS} runs")
    if run_ids:
        now = time.time()
        infos = [store.get_run(r) for r in run_ids]
        runs: Sequence[RunSummary] = [
            run_summary(i, shown_state(i, stale_after, now)) for i in infos
        ]
    else:
        wanted = RunFilter(pipeline=pipeline, limit=limit)
        runs = list_runs(store, wanted, stale_after=stale_after).runs
    return runs_grid(store, runs, task_offset=task_offset, task_limit=task_limit)
