"""Compensation (saga rollback) as data: where one compensation stands, what its handler is
told, and the record the reducer folds rollback events into.

When a run fails, the ``on_rollback`` handlers of the tasks that had succeeded in it run in
reverse order of completion. Each one's life::

    planned ──► started ──► succeeded
                   │  ▲
                   ▼  │   (a resume starts a failed or interrupted one again)
                 failed

A compensation is *done* once it succeeded; a resume runs every planned compensation that is
not done (never started, in flight when the orchestrator died, failed or interrupted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from legato.model.errors import ErrorInfo
from legato.model.states import RollbackState

__all__ = ["CompensationRecord", "RollbackContext", "RollbackState"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackContext:
    """What an ``on_rollback`` handler is told besides the task's output."""

    run_id: str
    key: str
    """The compensated task's key (``train[2]`` for an item of a map)."""
    task: str
    """Name of the task definition."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The run's parameters."""
    reason: str = ""
    """Why the run is rolling back (``failed: evaluate``)."""
    attempt: int = 1
    """1 for the handler's first start; more when a resume starts it again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CompensationRecord:
    """One task's compensation in a run, as folded from its events."""

    key: str
    state: RollbackState = RollbackState.PLANNED
    attempt: int = 0
    """How many times its handler was started."""
    reason: str = ""
    error: ErrorInfo | None = None
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def done(self) -> bool:
        """Whether the handler completed (it is never run again)."""
        return self.state is RollbackState.SUCCEEDED
