"""What a task attempt records about itself: parameters, metrics, tags and artifacts.

Tracked records travel from the worker to the orchestrator like captured output and are
committed with the run's events (see :mod:`legato.runtime.tracking`). They are keyed by the
run, the task key, its map index and the attempt that logged them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["MAX_TRACKED_NAME", "TrackKind", "Tracked", "check_tracked_name", "metric_value"]

MAX_TRACKED_NAME = 250
"""Longest parameter, metric, tag or artifact name."""


class TrackKind(StrEnum):
    """What a tracked record holds."""

    PARAM = "param"
    """A JSON value; the last one logged under a name wins."""
    METRIC = "metric"
    """A float at a step; many per name form a series."""
    TAG = "tag"
    """A string; the last one set under a name wins."""
    ARTIFACT = "artifact"
    """A stored artifact's reference (``value`` is its dict form)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tracked:
    """One logged value of one attempt."""

    run_id: str
    key: str
    """Task key in the run."""
    attempt: int
    kind: TrackKind
    name: str
    value: Any
    """A float (metric), a JSON value (param), a str (tag) or an artifact reference dict."""
    map_index: int | None = None
    step: int = 0
    """Position in a metric's series (0 for other kinds)."""
    at: float = 0.0


def check_tracked_name(name: object, what: str) -> str:
    """``name`` if it can name a tracked value: a non-empty string of printable
    characters up to :data:`MAX_TRACKED_NAME` long; ``ValueError`` otherwise."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > MAX_TRACKED_NAME
        or not name.isprintable()
    ):
        raise ValueError(
            f"{what} name {name!r} must be a non-empty printable string of at most "
            f"{MAX_TRACKED_NAME} characters"
        )
    return name


def metric_value(value: object, name: str) -> float:
    """``value`` as a float (bools and non-numbers refused; NaN and infinities kept)."""
    if isinstance(value, bool):
        raise TypeError(f"metric {name!r}: {value!r} is a bool, not a number")
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(
            f"metric {name!r}: {type(value).__name__} {value!r} is not a number"
        ) from None
    return result if not math.isnan(result) else math.nan
