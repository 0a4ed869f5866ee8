"""The events a run is made of. A run is the append-only sequence of them; its state is a
pure function of that sequence (see :mod:`legato.engine.reducer`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from legato.model.artifacts import ArtifactRef
from legato.model.cache_options import CacheOptions
from legato.model.errors import ErrorInfo
from legato.model.slots import slot_init
from legato.model.states import RollbackState, RunState, TaskState

__all__ = [
    "Event",
    "MapExpanded",
    "PlannedTask",
    "RollbackPlanned",
    "RollbackTransitioned",
    "RunStarted",
    "RunTransitioned",
    "TaskTransitioned",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events: which run, its position in the run, and when (wall clock)."""

    run_id: str
    seq: int
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedTask:
    """A task of the plan as the run starts: its key, its definition's name and whether it
    is a mapped task (whose items appear when it is expanded)."""

    key: str
    name: str
    mapped: bool = False
    items: int | None = None
    """For a mapped task whose lists are known as the run starts (literal lists, run
    parameters, item keys): how many items it will have. Shown, never relied on: the items
    exist once ``MapExpanded`` says so."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    """A run was created with its plan and parameters."""

    pipeline: str
    params: Mapping[str, Any] = field(default_factory=dict)
    tasks: tuple[PlannedTask, ...] = ()
    executor: str = ""
    failure_policy: str = ""
    caching: CacheOptions = field(default_factory=CacheOptions)
    """The run's cache options; a resume applies them again. Events written before they
    were recorded read as the defaults (look up, refresh nothing)."""
    output: Mapping[str, Any] | None = None
    """How the pipeline's return value is made of task outputs, parameters and literals,
    as JSON (:mod:`legato.model.outputs`), for showing a run's output; None in events
    written before it was recorded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTransitioned(Event):
    """The run's own state changed."""

    state: RunState
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MapExpanded(Event):
    """A mapped task's list became known: items ``key[0]`` … ``key[count-1]`` exist now, or
    ``key[k]`` for each item key ``k`` of ``keys`` when the map names its items."""

    key: str
    count: int
    keys: tuple[str, ...] = ()
    """The item keys, in item order (``count`` of them); empty: the items are numbered."""


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskTransitioned(Event):
    """A task moved to ``state`` during ``attempt``."""

    key: str
    state: TaskState
    attempt: int
    reason: str = ""
    error: ErrorInfo | None = None
    retry_at: float | None = None
    """For RETRY_WAIT: when the next attempt becomes ready (wall clock)."""
    ran_for: float | None = None
    """For the end of an attempt: seconds the function ran, measured by the worker."""
    output: ArtifactRef | None = None
    """For SUCCEEDED with a store: where the output is."""
    cache_key: str | None = None
    """For SUCCEEDED: the cache key its output is filed under (None: not cacheable)."""
    cache_hit: str | None = None
    """For SUCCEEDED from the cache: the run whose output was reused."""
    cache_parts: Mapping[str, str] | None = None
    """For SUCCEEDED: digests of what the cache key covers (code, inputs, params, version),
    kept to explain later misses."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackPlanned(Event):
    """The run failed and rolls back: the tasks whose ``on_rollback`` handlers run, in the
    order they run (reverse order of completion). Recorded once, so a resume finishes the
    same rollback."""

    keys: tuple[str, ...]
    reason: str = ""
    """Why the run rolls back (the failure)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackTransitioned(Event):
    """A task's compensation moved to ``state`` (``started`` is committed before the handler
    is handed to the executor)."""

    key: str
    state: RollbackState
    attempt: int
    """The handler's start this is about (1 for the first)."""
    reason: str = ""
    error: ErrorInfo | None = None
    ran_for: float | None = None
