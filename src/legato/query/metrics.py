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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from legato.engine import tracked
from legato.engine.compare import read_named
from legato.engine.tracked import summarize, summarize_runs
from legato.store.base import RunStore

__all__ = [
    "MAX_POINTS",
    "ComparedSeries",
    "MetricSeries",
    "Series",
    "compared_series",
    "downsample",
    "metric_series",
]

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
            _shown(s, summary.borrowed, limit)
            for (_, metric), s in sorted(summary.series.items())
            if name is None or metric == name
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparedSeries:
    """One metric's series in each of the runs compared, in the runs' order."""

    name: str
    runs: tuple[MetricSeries, ...]


def compared_series(
    store: RunStore, run_ids: Sequence[str], name: str, *, limit: int = MAX_POINTS
) -> ComparedSeries:
    """The series of metric ``name`` in each of ``run_ids`` (ids or unique prefixes),
    downsampled to ``limit`` points each: one chart of the compare page, read together, of
    each run only this metric's points. ``name`` is a metric's name or, as the compare
    table labels a name several tasks of a run logged, ``<task key>/<name>``
    (:func:`legato.engine.tracked.by_name`): a series matches either way."""
    names = _named(name)
    ids, readings = read_named(store, run_ids, extremes=False, metrics=names)
    summaries = summarize_runs(store, readings, metrics=names)
    return ComparedSeries(
        name=name,
        runs=tuple(
            MetricSeries(
                run_id=run_id,
                series=tuple(
                    _shown(s, summaries[run_id].borrowed, limit)
                    for (key, metric), s in sorted(summaries[run_id].series.items())
                    if name in (metric, f"{key}/{metric}")
                ),
            )
            for run_id in ids
        ),
    )


def _named(name: str) -> set[str]:
    """The metric names a label ``name`` may stand for: itself, and what follows each
    ``/`` (a task key may hold ``/`` as much as a metric name may)."""
    return {name} | {name[i + 1 :] for i, c in enumerate(name) if c == "/"}


def _shown(series: tracked.Series, borrowed: Mapping[str, str], limit: int) -> Series:
    """``series`` as the API sends it, downsampled to ``limit`` points."""
    return Series(
        task=series.task,
        name=series.name,
        attempt=series.attempt,
        from_run=borrowed.get(series.task),
        count=len(series.points),
        points=tuple(
            (step, None if math.isnan(v) else v)
            for step, v in downsample([(p.step, p.value) for p in series.points], limit)
        ),
    )
