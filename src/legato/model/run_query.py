"""What a run store is asked when runs are searched: :class:`RunQuery` in, :class:`RunPage`
out (``RunStore.find_runs``).

Pages are *keyset* pages: a page ends with a :class:`RunCursor`, the sort key of its last run,
and the next page is the runs strictly after it in the same order. Unlike an offset, a cursor
stays right while new runs are created (they sort before the first page, newest first) and
costs one index range scan however deep the page.

The order is the run's creation time, or the value of one of its metrics; ties are broken by
the run id, so the order is total and no run is skipped or shown twice across pages.

**A run's value of a metric** is the value logged under that name by the run's latest
attempt that logged it, at that attempt's highest step (by task key, last, if several tasks
logged it). A run that did not log the metric, or whose value is NaN, has none: it never
matches a range on that metric, and is left out when runs are sorted by it. Both stores
answer with this rule (the conformance suite holds them to it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from legato.model.runs import RunInfo
from legato.model.states import RunState
from legato.model.tracking import Tracked, TrackKind

__all__ = [
    "MAX_PAGE",
    "MetricRange",
    "RunCursor",
    "RunPage",
    "RunQuery",
    "metric_of",
    "param_matches",
    "param_text",
]

MAX_PAGE = 500
"""The most runs one page holds, whatever the query asks."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricRange:
    """Runs whose value of metric ``name`` lies in ``[low, high]`` (a bound left None is
    open)."""

    name: str
    low: float | None = None
    high: float | None = None

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` (a run's value of the metric) is in the range."""
        if value is None or math.isnan(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCursor:
    """Where a page ended: the sort key of its last run (its creation time, or its value of
    the metric sorted by) and its id."""

    key: float
    run_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunQuery:
    """Which runs, in which order, from where. Every field left as is matches every run."""

    pipeline: str | None = None
    states: frozenset[RunState] | None = None
    """Runs in one of these states (None: any)."""
    silent_since: float | None = None
    """Runs whose last heartbeat is older than this time (an orchestrator gone: how a
    ``crashed`` run is found, with the states that have not ended)."""
    beating_since: float | None = None
    """Runs whose last heartbeat is at or after this time."""
    created_from: float | None = None
    """Runs created at or after this time (seconds since the epoch)."""
    created_before: float | None = None
    """Runs created before this time."""
    tag: tuple[str, str] | None = None
    """Runs one of whose tasks set this tag (name, value) with ``legato.set_tags``."""
    param: tuple[str, tuple[str, ...]] | None = None
    """Runs whose run parameter ``name`` is one of these values, each as JSON text (``3``,
    ``"adam"``, ``true``): scalar parameters only."""
    metric: MetricRange | None = None
    order_by: str | None = None
    """A metric name to sort by (runs without a value of it are left out); None: creation
    time."""
    descending: bool = True
    after: RunCursor | None = None
    """Only runs after this cursor, in this order (the next page)."""
    limit: int = 50
    """The most runs to return (at most :data:`MAX_PAGE`)."""

    @property
    def page_size(self) -> int:
        """``limit`` within ``[0, MAX_PAGE]``."""
        return min(max(self.limit, 0), MAX_PAGE)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPage:
    """One page of runs, and the cursor of the next one (None: this is the last)."""

    runs: tuple[RunInfo, ...]
    next: RunCursor | None = None


def metric_of(tracked: Iterable[Tracked], name: str) -> float | None:
    """A run's value of metric ``name`` from its tracked values (see the module docstring),
    or None. What the in-memory store computes; the SQL store's query says the same."""
    best: tuple[int, int, str] | None = None
    value: float | None = None
    for record in tracked:
        if record.kind is not TrackKind.METRIC or record.name != name:
            continue
        rank = (record.attempt, record.step, record.key)
        if best is None or rank > best:
            best, value = rank, float(record.value)
    if value is None or math.isnan(value):
        return None
    return value


def param_text(value: Any) -> str | None:
    """A scalar parameter value as JSON text, as a run store writes it (``3``, ``"adam"``,
    ``true``), or None for a value that is not a scalar (lists, dicts, paths, dates)."""
    if isinstance(value, Enum):  # stored as a tagged object, not as its value
        return None
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and math.isfinite(value):
        return json.dumps(value)
    return None


def param_matches(params: Mapping[str, Any], name: str, texts: tuple[str, ...]) -> bool:
    """Whether run parameter ``name`` is a scalar whose JSON text is one of ``texts``."""
    if name not in params:
        return False
    text = param_text(params[name])
    return text is not None and text in texts
