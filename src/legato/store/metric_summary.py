"""A metric series summed up: what a comparison shows of it and what the runs list sorts by,
kept beside the values so that neither reads every step.

A series is what one attempt of one task logged under one metric name. Its summary is its
count and three of its points: the one at the highest step (its final value), and those with
the lowest and highest value (NaN is neither; the lowest step wins a tie, so the summary is
the same whatever order the points came in). The SQL store keeps one row of it per series
(``metric_summaries``), updated in the transaction that writes the values; the in-memory
store folds its values the same way, so both answer ``read_tracked(extremes=True)`` alike.

A point is ``(step, value, at, map_index)``, its value None for NaN, as the SQL store keeps
it. Logging a step again replaces its value, which no fold can take back from a summary: a
write that touches a step the summary has already seen (:func:`may_replace`) recomputes the
series' summary from its points instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["END_COLUMNS", "ENDS", "Point", "fold", "may_replace", "points_of", "run_value"]

Point = tuple[int, float | None, float, int | None]
"""``(step, value, at, map_index)``; value None for NaN."""

ENDS = ("last", "low", "high")
"""The summary's points, as its columns name them (``last_step``, ``low_value``...)."""

END_COLUMNS = tuple(
    f"{end}_{part}" for end in ENDS for part in ("step", "value", "at", "map_index")
)
"""The columns of the summary's points, in the order :func:`points_of` reads them."""


def fold(summary: dict[str, Any] | None, points: Iterable[Point]) -> dict[str, Any]:
    """``summary`` (a ``metric_summaries`` row's columns, or None for a new series) with
    ``points`` added; ``summary`` is not changed. The points must be new steps (see
    :func:`may_replace`)."""
    found = dict(summary) if summary is not None else _empty()
    for point in points:
        step, value = point[0], point[1]
        found["count"] += 1
        if found.get("last_step") is None or step >= found["last_step"]:
            _put(found, "last", point)
        if value is None:
            continue
        low, high = found.get("low_value"), found.get("high_value")
        if low is None or value < low or (value == low and step < found["low_step"]):
            _put(found, "low", point)
        if high is None or value > high or (value == high and step < found["high_step"]):
            _put(found, "high", point)
    return found


def _empty() -> dict[str, Any]:
    found: dict[str, Any] = {"count": 0}
    for end in ENDS:
        _put(found, end, (None, None, None, None))
    return found


def _put(summary: dict[str, Any], end: str, point: tuple[Any, ...]) -> None:
    step, value, at, map_index = point
    summary[f"{end}_step"] = step
    summary[f"{end}_value"] = value
    summary[f"{end}_at"] = at
    summary[f"{end}_map_index"] = map_index


def points_of(ends: Sequence[Any]) -> list[Point]:
    """The distinct points of a summary given as the values of its :data:`END_COLUMNS`, in
    that order (a row read as is), by step."""
    found: dict[int, Point] = {}
    for i in range(0, len(END_COLUMNS), 4):
        step = ends[i]
        if step is not None and step not in found:
            found[step] = (step, ends[i + 1], ends[i + 2], ends[i + 3])
    return [found[s] for s in sorted(found)]


def may_replace(summary: dict[str, Any] | None, steps: Iterable[int]) -> bool:
    """Whether writing ``steps`` may replace a point ``summary`` has counted: a step at or
    below its highest one (an earlier step logged late is recomputed too, harmlessly)."""
    if summary is None or summary.get("last_step") is None:
        return False
    last = summary["last_step"]
    return any(step <= last for step in steps)


def run_value(
    current: tuple[int, int, str] | None, candidates: Iterable[tuple[int, int, str]]
) -> tuple[int, int, str] | None:
    """Of a run's points of one metric name, ranked ``(attempt, step, task key)``, the one
    that is the run's value (:func:`legato.model.run_query.metric_of`): the highest, a point
    logged again under the same rank replacing ``current``. None when there are none."""
    best = current
    for rank in candidates:
        if best is None or rank >= best:
            best = rank
    return best
