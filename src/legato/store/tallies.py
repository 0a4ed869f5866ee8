"""The light reads of a run's tasks and logs, over records already in memory: what the
in-memory store answers ``planned_tasks``, ``item_counts``, ``step_counts``, ``task_page``,
``cache_hits``, ``log_size`` and ``read_log_bytes`` with. The SQL store answers the same in
SQL (its conformance suite holds both to the same answers)."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable

from legato.model.records import TaskRecord
from legato.model.runs import LogEntry
from legato.model.states import TaskState
from legato.model.tracking import Tracked, TrackKind
from legato.store import metric_summary
from legato.store.base import StepCount

__all__ = [
    "attempt_output",
    "cache_hits",
    "extremes",
    "item_counts",
    "map_items",
    "named_series",
    "planned",
    "step_counts",
    "task_page",
]


def planned(records: Iterable[TaskRecord]) -> list[TaskRecord]:
    """The planned tasks of ``records`` (map items left out), in their order."""
    return [r for r in records if r.parent is None]


def item_counts(records: Iterable[TaskRecord]) -> dict[str, dict[str, int]]:
    """Map items (group records left out) per mapped task, per state."""
    counts: dict[str, dict[str, int]] = {}
    for r in records:
        if r.parent is not None and not r.mapped:
            states = counts.setdefault(r.parent, {})
            states[r.state.value] = states.get(r.state.value, 0) + 1
    return counts


def map_items(
    records: Iterable[TaskRecord],
    parent: str,
    state: TaskState | None,
    offset: int,
    limit: int,
) -> tuple[int, list[TaskRecord]]:
    """The items of mapped task ``parent`` among ``records`` (in ``state``, when given), by
    map index: how many, and ``limit`` of them from the ``offset``-th."""
    found = [
        r
        for r in records
        if r.parent == parent and not r.mapped and (state is None or r.state is state)
    ]
    found.sort(key=lambda r: (r.map_index if r.map_index is not None else -1, r.key))
    return len(found), found[offset : offset + limit]


def step_counts(records: Iterable[TaskRecord]) -> list[StepCount]:
    """Tasks per name per state (group records of mapped tasks apart), names in the order
    of their first records."""
    found: dict[str, StepCount] = {}
    for r in records:
        step = found.get(r.name)
        if step is None:
            step = found[r.name] = StepCount(name=r.name, states={}, maps={})
        counts = step.maps if r.mapped else step.states
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    return list(found.values())


def task_page(
    records: Iterable[TaskRecord],
    states: Collection[TaskState] | None,
    offset: int,
    limit: int,
    groups: bool = False,
) -> tuple[int, list[TaskRecord]]:
    """The tasks and map items among ``records`` (in their order, group records of mapped
    tasks left out unless ``groups``) in one of ``states`` when given: how many, and
    ``limit`` of them from the ``offset``-th."""
    found = [
        r for r in records if (groups or not r.mapped) and (states is None or r.state in states)
    ]
    return len(found), found[offset : offset + limit]


def cache_hits(records: Iterable[TaskRecord]) -> dict[str, str]:
    """Task key -> the run whose output it reused, of the cache hits among ``records``."""
    return {r.key: r.cache_hit for r in records if r.cache_hit is not None}


def extremes(tracked: Iterable[Tracked]) -> list[Tracked]:
    """``tracked`` with each metric series (task key, attempt, name) cut down to the points
    its summary keeps (:mod:`legato.store.metric_summary`: at the highest step, and with
    the lowest and highest value, NaN neither, the lowest step on a tie)."""
    values = list(tracked)
    series: dict[tuple[str, int, str], list[Tracked]] = {}
    for t in values:
        if t.kind is TrackKind.METRIC:
            series.setdefault((t.key, t.attempt, t.name), []).append(t)
    kept: set[int] = set()
    for points in series.values():
        summary = metric_summary.fold(None, (_point(p) for p in points))
        ends = [summary[c] for c in metric_summary.END_COLUMNS]
        steps = {point[0] for point in metric_summary.points_of(ends)}
        kept.update(id(p) for p in points if p.step in steps)
    return [t for t in values if t.kind is not TrackKind.METRIC or id(t) in kept]


def named_series(tracked: Iterable[Tracked], names: Collection[str] | None) -> list[Tracked]:
    """``tracked`` (sorted, as a store reads it) with each metric series not named in
    ``names`` cut down to its point at the highest step (None: every series whole)."""
    values = list(tracked)
    if names is None:
        return values
    last: dict[tuple[str, int, str], Tracked] = {}
    for t in values:
        if t.kind is TrackKind.METRIC and t.name not in names:
            last[t.key, t.attempt, t.name] = t  # in step order: the last one stays
    kept = {id(t) for t in last.values()}
    return [t for t in values if t.kind is not TrackKind.METRIC or t.name in names or id(t) in kept]


def _point(t: Tracked) -> metric_summary.Point:
    return (t.step, None if math.isnan(t.value) else t.value, t.at, t.map_index)


def attempt_output(entries: Iterable[LogEntry], key: str, attempt: int) -> bytes:
    """What attempt ``attempt`` of task ``key`` wrote, as UTF-8 (``entries`` in order)."""
    return "".join(e.text for e in entries if e.key == key and e.attempt == attempt).encode()
