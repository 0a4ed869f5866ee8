"""A run's metric series, downsampled on the server: a series of a million steps reaches a
chart as at most :data:`MAX_POINTS` points.

:func:`downsample` keeps the first and the last point, and of the points between, split into
equal runs of steps, each run's lowest and highest value (in step order): a spike or a dip
anywhere survives, which evenly spaced sampling would miss. The series shown are those the
engine counts as the run's (:func:`legato.engine.tracked.summarize`, as ``legato metrics``
shows them): each task's latest attempt that logged any, and for a task that was a cache
hit, those of the run that produced its output (``from_run``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from legato.engine.tracked import summarize
from legato.store.base import RunStore

__all__ = ["MAX_POINTS", "MetricSeries", "Series", "downsample", "metric_series"]

MAX_POINTS = 2000
"""The most points a series is sent with."""

Point = tuple[int, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """One metric of one task: ``[step, value]`` points in step order (a NaN value is
    null)."""

    task: str
    name: str
    attempt: int
    from_run: str | None
    """For a task that was a cache hit: the run whose values these are."""
    count: int
    """How many points the series has (``points`` holds fewer when it was downsampled)."""
    points: tuple[tuple[int, float | None], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSeries:
    """The metric series of a run."""

    run_id: str
    series: tuple[Series, ...]


def downsample(points: Sequence[Point], limit: int = MAX_POINTS) -> list[Point]:
    """At most ``limit`` (at least 4) of ``points`` (in step order), keeping the first, the
    last, and each bucket's lowest and highest value (NaN values count as neither)."""
    limit = max(limit, 4)
    if len(points) <= limit:
        return list(points)
    inner = points[1:-1]
    buckets = (limit - 2) // 2
    kept: list[Point] = [points[0]]
    for b in range(buckets):
        part = inner[b * len(inner) // buckets : (b + 1) * len(inner) // buckets]
        numbers = [p for p in part if not math.isnan(p[1])]
        if not numbers:
            kept.append(part[0])
            continue
        low = min(numbers, key=lambda p: p[1])
        high = max(numbers, key=lambda p: p[1])
        kept.extend(sorted({low, high}, key=lambda p: p[0]))
    kept.append(points[-1])
    return kept


def metric_series(
    store: RunStore, run_id: str, *, name: str | None = None, limit: int = MAX_POINTS
) -> MetricSeries:
    """Every metric series of run ``run_id`` (or those named ``name``), downsampled to
    ``limit`` points each."""
    info = store.get_run(run_id)
    summary = summarize(store, info.run_id)
    return MetricSeries(
        run_id=info.run_id,
        series=tuple(
            Series(
                task=key,
                name=metric,
                attempt=series.attempt,
                from_run=summary.borrowed.get(key),
                count=len(series.points),
                points=tuple(
                    (step, None if math.isnan(v) else v)
                    for step, v in downsample([(p.step, p.value) for p in series.points], limit)
                ),
            )
            for (key, metric), series in sorted(summary.series.items())
            if name is None or metric == name
        ),
    )
