"""What the reducer folds events into: the state of one run and each of its tasks."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from legato.model.artifacts import ArtifactRef
from legato.model.cache_options import CacheOptions
from legato.model.errors import ErrorInfo
from legato.model.slots import slot_init
from legato.model.states import RunState, TaskState

if TYPE_CHECKING:  # a field's type only: the append process folds tasks, not rollbacks
    from legato.model.rollback import CompensationRecord

__all__ = ["RunRecord", "TaskRecord"]


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    """One task (or one item of a mapped task) in a run."""

    key: str
    name: str
    state: TaskState = TaskState.PENDING
    attempt: int = 1
    map_index: int | None = None
    parent: str | None = None
    """For an item of a map: the mapped task's key."""
    mapped: bool = False
    """Whether this is the group record of a mapped task."""
    items: int | None = None
    """For a mapped task: how many items it expanded to."""
    started_at: float | None = None
    """When the latest attempt started."""
    ended_at: float | None = None
    first_started_at: float | None = None
    ran_for: float | None = None
    """Seconds the latest attempt's function ran, measured by the worker."""
    reason: str = ""
    error: ErrorInfo | None = None
    output: ArtifactRef | None = None
    cache_key: str | None = None
    cache_hit: str | None = None
    """The run whose stored output was reused, when the task was a cache hit."""
    cache_parts: Mapping[str, str] | None = None
    """What the cache key covered (see ``TaskTransitioned.cache_parts``)."""

    @property
    def duration(self) -> float | None:
        """Seconds of the latest attempt, when it has ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(slots=True, kw_only=True)
class RunRecord:
    """A run as rebuilt from its events. Owned by whoever folds the events into it."""

    run_id: str
    pipeline: str = ""
    state: RunState = RunState.PENDING
    params: Mapping[str, Any] = field(default_factory=dict)
    executor: str = ""
    failure_policy: str = ""
    caching: CacheOptions = field(default_factory=CacheOptions)
    """The cache options the run started with (a resume applies them again)."""
    started_at: float | None = None
    ended_at: float | None = None
    reason: str = ""
    tasks: MutableMapping[str, TaskRecord] = field(default_factory=dict)
    """By key, in the order the tasks appeared (the engine packs succeeded ones:
    ``engine/task_records.py``)."""
    sizes: Mapping[str, int] = field(default_factory=dict)
    """How many items each map of the plan would have, where known when the run started
    (``PlannedTask.items``): what a task count says of a map not expanded (yet)."""
    last_seq: int = 0
    rollbacks: dict[str, CompensationRecord] = field(default_factory=dict)
    """The compensations of the run's latest rollback, in the order they run (empty when it
    never rolled back, and again once a resume runs the work again)."""
    rollback_reason: str = ""
    """Why the latest rollback began."""
