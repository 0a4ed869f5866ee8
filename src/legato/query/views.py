"""What the read model answers: frozen dataclasses of JSON-ready values. The API server
uses them as its response models (FastAPI derives their OpenAPI schemas), so each shape is
written once."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any

from legato.model.runs import RunInfo

__all__ = ["RunList", "RunSummary", "json_value", "run_summary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """One run as a list shows it."""

    run_id: str
    pipeline: str
    state: str
    """The run's state, or ``crashed``: not ended, and its orchestrator silent for longer
    than its lease."""
    created_at: float
    """Seconds since the epoch, as every time here."""
    ended_at: float | None
    heartbeat_at: float
    duration: float | None
    """Seconds from creation to the end (to the last heartbeat for a crashed run; None
    while it runs)."""
    reason: str
    params: dict[str, Any]
    """Run parameters as JSON (paths, dates and enum members as their text)."""
    cancel_requested: bool
    """Whether a cancel request waits for (or was read by) the run's orchestrator."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunList:
    """A page of runs, and the token of the next page (None: the last page)."""

    runs: tuple[RunSummary, ...]
    next_cursor: str | None


def run_summary(info: RunInfo, state: str) -> RunSummary:
    """``info`` as a list shows it, in ``state`` (the stored state, or ``crashed``)."""
    if info.ended_at is not None:
        duration: float | None = info.ended_at - info.created_at
    elif state == "crashed":
        duration = info.heartbeat_at - info.created_at
    else:
        duration = None
    return RunSummary(
        run_id=info.run_id,
        pipeline=info.pipeline,
        state=state,
        created_at=info.created_at,
        ended_at=info.ended_at,
        heartbeat_at=info.heartbeat_at,
        duration=duration,
        reason=info.reason,
        params=json_value(dict(info.params)),
        cancel_requested=info.cancel_requested_at is not None,
    )


def json_value(value: Any) -> Any:
    """``value`` as plain JSON for display: paths, dates, times and enum members become
    their text, tuples lists, non-finite floats their name (``inf``, ``nan``)."""
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, Enum)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return repr(value)
