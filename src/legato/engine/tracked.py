"""What a run's tasks tracked, read back.

Two readings of the same records:

- :func:`read_tracked` (``legato.read_tracked``): every value every attempt logged, as
  logged, for analysis in a notebook;
- :func:`summarize`: what the run counts as its values, which ``legato runs show``,
  ``legato metrics`` and ``legato runs compare`` show. Of each task, the values of its
  latest attempt that logged any (a retried attempt's values are superseded, not merged);
  a metric as its series by step; a task that was a cache hit did not run and logged
  nothing, so its values are those of the run that produced the cached output
  (``borrowed`` says which).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.artifacts import ArtifactRef
from legato.model.codec import artifact_from_dict
from legato.model.jsonable import from_jsonable
from legato.model.runs import RunInfo
from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunReading, RunStore

__all__ = [
    "LoggedArtifact",
    "Point",
    "RunSummary",
    "Series",
    "by_name",
    "read_tracked",
    "summarize",
    "summarize_runs",
]

_MAX_HOPS = 20  # cache hits of cache hits: a chain this long is a bug, not a run history

T = TypeVar("T")


def read_tracked(
    run_id: str, *, store: RunStore | None = None, profile: str | None = None
) -> list[Tracked]:
    """Every value the attempts of run ``run_id`` (an id or a unique prefix) logged with
    ``log_param``, ``log_metric``, ``set_tags`` and ``log_artifact``: one
    :class:`~legato.model.tracking.Tracked` per parameter, tag, artifact and metric step,
    sorted by task key, attempt, kind, name and step. Attempts that were retried keep
    theirs. A task that was a cache hit logged nothing in this run: see
    ``legato.runs_compare``, which shows the values of the run that produced its output.

    ``store`` defaults to the profile's run store (opened read-only), as ``legato.run``
    uses it. Raises ``UnknownRunError`` when no run (or more than one) matches."""
    if store is None:
        store = open_storage(load_settings(profile), read_only=True).runs
    return store.read_tracked(store.get_run(run_id).run_id)


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a metric's series."""

    step: int
    value: float
    at: float
    """When it was logged (seconds since the epoch)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """The values a task's attempt logged under one metric name, by step."""

    task: str
    name: str
    attempt: int
    points: tuple[Point, ...]
    """At least one, in step order."""

    @property
    def last(self) -> Point:
        """The value at the highest step: the metric's final value."""
        return self.points[-1]

    @property
    def minimum(self) -> float:
        """The lowest value (NaN, logged for a failed step, is left out; NaN when all
        are)."""
        return min(self._numbers(), default=math.nan)

    @property
    def maximum(self) -> float:
        """The highest value (NaN left out; NaN when all are)."""
        return max(self._numbers(), default=math.nan)

    def _numbers(self) -> list[float]:
        return [p.value for p in self.points if not math.isnan(p.value)]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedArtifact:
    """An object or file a task stored with ``log_artifact``."""

    task: str
    name: str
    ref: ArtifactRef
    filename: str | None = None
    """The name of the file it was read from, when a file was logged."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """What a run tracked, by (task key, name): the values that count (see the module)."""

    run_id: str
    params: Mapping[tuple[str, str], Any]
    series: Mapping[tuple[str, str], Series]
    tags: Mapping[tuple[str, str], str]
    artifacts: Mapping[tuple[str, str], LoggedArtifact]
    borrowed: Mapping[str, str]
    """Task key → the run whose values it shows (it was a cache hit)."""

    @property
    def metrics(self) -> dict[tuple[str, str], float]:
        """Each metric's final value."""
        return {ident: s.last.value for ident, s in self.series.items()}


def by_name(values: Mapping[tuple[str, str], T]) -> dict[str, T]:
    """``values`` by name, or by ``key/name`` where several tasks logged the name
    (``score[0]/accuracy``), sorted by task key and name."""
    counts: dict[str, int] = {}
    for _, name in values:
        counts[name] = counts.get(name, 0) + 1
    return {
        (name if counts[name] == 1 else f"{key}/{name}"): value
        for (key, name), value in sorted(values.items())
    }


class _Collected:
    """The values :func:`summarize` gathers, before they are frozen into a summary."""

    def __init__(self) -> None:
        self.params: dict[tuple[str, str], Any] = {}
        self.points: dict[tuple[str, str], list[Point]] = {}
        self.attempts: dict[tuple[str, str], int] = {}
        self.tags: dict[tuple[str, str], str] = {}
        self.artifacts: dict[tuple[str, str], LoggedArtifact] = {}

    def add(self, tracked: Iterable[Tracked], keys: set[str] | None) -> None:
        """The values of the latest attempt of each task (of ``keys``, None: all) that
        logged any."""
        records = [t for t in tracked if keys is None or t.key in keys]
        latest: dict[str, int] = {}
        for t in records:
            latest[t.key] = max(latest.get(t.key, 0), t.attempt)
        for t in records:  # sorted by key, attempt, kind, name, step
            if t.attempt != latest[t.key]:
                continue
            ident = (t.key, t.name)
            if t.kind is TrackKind.METRIC:
                self.points.setdefault(ident, []).append(Point(t.step, t.value, t.at))
                self.attempts[ident] = t.attempt
            elif t.kind is TrackKind.PARAM:
                self.params[ident] = from_jsonable(t.value)
            elif t.kind is TrackKind.TAG:
                self.tags[ident] = t.value
            else:
                self.artifacts[ident] = LoggedArtifact(
                    task=t.key,
                    name=t.name,
                    ref=artifact_from_dict(t.value),
                    filename=t.value.get("filename"),
                )

    def summary(self, run_id: str, borrowed: Mapping[str, str]) -> RunSummary:
        return RunSummary(
            run_id=run_id,
            params=dict(sorted(self.params.items())),
            series={
                ident: Series(
                    task=ident[0],
                    name=ident[1],
                    attempt=self.attempts[ident],
                    points=tuple(points),
                )
                for ident, points in sorted(self.points.items())
            },
            tags=dict(sorted(self.tags.items())),
            artifacts=dict(sorted(self.artifacts.items())),
            borrowed=dict(sorted(borrowed.items())),
        )


def summarize(
    store: RunStore, run_id: str, *, extremes: bool = False, info: RunInfo | None = None
) -> RunSummary:
    """What run ``run_id`` (an id or a unique prefix) tracked, cache hits resolved to the
    runs that produced their outputs. ``extremes``: each series holds only its points at
    its highest step and with its lowest and highest value, which keeps its ``last``,
    ``minimum`` and ``maximum`` (a comparison's columns) and reads a few rows instead of
    every step. ``info``: the run, when the caller has read it already."""
    if info is None or info.run_id != run_id:
        info = store.get_run(run_id)
    readings = store.read_runs([info.run_id], extremes=extremes)
    return summarize_runs(store, readings, extremes=extremes)[info.run_id]


def summarize_runs(
    store: RunStore,
    readings: Mapping[str, RunReading],
    *,
    extremes: bool = False,
    metrics: Collection[str] | None = None,
) -> dict[str, RunSummary]:
    """:func:`summarize` of each run of ``readings`` (:meth:`RunStore.read_runs`, with the
    same ``extremes`` and ``metrics``), the runs their cache hits name read together (as
    ``extremes`` and ``metrics`` say): one read for each hop of cache hits, whatever the
    number of runs, where reading run by run made a comparison of 200 runs hundreds of
    round trips to the database."""
    collected = {run_id: _Collected() for run_id in readings}
    borrowed: dict[str, dict[str, str]] = {run_id: {} for run_id in readings}
    # Per run, the tasks whose values are still to be read from each source run. Cache
    # hits only, not every task record: a run of 100,000 map items is summed up without
    # reading them.
    pending: dict[str, dict[str, set[str]]] = {}
    for run_id, reading in readings.items():
        collected[run_id].add(reading.tracked, None)
        for key, source in reading.cache_hits.items():
            if source != run_id:
                pending.setdefault(run_id, {}).setdefault(source, set()).add(key)
                borrowed[run_id][key] = source
    hops = 0
    while pending and hops < _MAX_HOPS:
        hops += 1
        sources = store.read_runs(
            sorted({s for wanted in pending.values() for s in wanted}),
            extremes=extremes,
            metrics=metrics,
        )
        following: dict[str, dict[str, set[str]]] = {}
        for run_id, wanted in pending.items():
            for source, keys in wanted.items():
                found = sources.get(source)
                if found is None:  # the source run is gone: its values with it
                    continue
                collected[run_id].add(found.tracked, keys)
                for key, hit in found.cache_hits.items():
                    if key in keys and hit != source:
                        following.setdefault(run_id, {}).setdefault(hit, set()).add(key)
                        borrowed[run_id][key] = hit
        pending = following
    return {run_id: collected[run_id].summary(run_id, borrowed[run_id]) for run_id in readings}
