"""A run's tasks as the API shows them, a page at a time: each task's record (the store's
projection, the reducer's fold, read a page of a million-task run at a time), its attempts
rebuilt from the events of the page's tasks alone, its cache story and its output described
by the artifact's metadata (never loaded).

An attempt starts at its ``running`` event (a cache hit has none: it never ran) and ends at
its first terminal or ``retry_wait`` event; what it ended with (state, reason, error, the
seconds the function ran) is that event's.

What legato spent around the user's function is read from the same events, never estimated:
an attempt *queued* from its ``ready`` event (its inputs known) to its ``running`` event
(handed to the executor: waiting for a slot and resources, and the cache lookup), and its
*overhead* is its wall time (``running`` to its end, both on the orchestrator's clock) less
``ran_for``, the seconds the worker measured from loading the inputs to the function's
return: handing the call over, storing the output, the outcome's way back and the commit.
Where an event is missing (a cache hit never ran; events of older runs lack ``ran_for``),
the figure is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from legato.engine.caching import EarlierParts
from legato.errors import ParameterError
from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo
from legato.model.events import Event, TaskTransitioned
from legato.model.records import TaskRecord
from legato.model.run_query import RunQuery
from legato.model.states import TASK_TERMINAL, TaskState
from legato.store.base import RunStore

__all__ = [
    "MAX_TASKS",
    "AttemptView",
    "CacheView",
    "ErrorView",
    "OutputView",
    "TaskList",
    "TaskView",
    "attempts_of",
    "cache_reasons",
    "described",
    "error_view",
    "output_view",
    "task_list",
    "task_state",
    "task_view",
]

_CACHE_WORD = "cache:"
_MISS = "cache: miss"
_PARTS = ("code", "inputs", "params", "version")
MAX_TASKS = 10_000
"""The most tasks one page holds, and a page's size when none is asked: the run page lists
a run of up to 5,000 tasks (and its maps' group records) whole, in one page."""
_ENDS_ATTEMPT = TASK_TERMINAL | {TaskState.RETRY_WAIT}
"""What ends an attempt: derived from the states' own groups, so a new state counts here."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorView:
    """An error as recorded: class, message, traceback (secret values masked on the
    way out)."""

    type: str
    message: str
    traceback: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputView:
    """A stored output, by its metadata: what serialised it, its size and checksum, and the
    serialiser's description (a NumPy array's dtype and shape, a table's schema...)."""

    checksum: str
    size: int
    serializer: str
    producer: str
    inline: bool
    """Whether the bytes are kept in the run store (small outputs) rather than the artifact
    store."""
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheView:
    """How the cache served a task: its key, the run whose output it reused (a hit), what
    the key covered (digests of code, inputs, parameters, version) and, for a miss, why."""

    key: str | None
    hit_from: str | None
    parts: dict[str, str] | None
    reason: str | None
    """What the cache said: ``cache: hit from run X``, ``cache: miss, code changed``
    (what changed since the task's last stored result) and the like; None when the task
    did not look."""
    previous_parts: dict[str, str] | None = None
    """For a miss: what the key covered in the run the engine compared with (the newest of
    the three runs of the pipeline before it that recorded parts for the task), to set
    beside ``parts``."""
    changed: tuple[str, ...] = ()
    """For a miss: the parts whose digests differ from ``previous_parts`` (``code``,
    ``inputs``, ``params``, ``version``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptView:
    """One attempt of a task."""

    attempt: int
    state: str
    """Its last state: the one it ended in, or where it stands."""
    started_at: float | None
    ended_at: float | None
    ran_for: float | None
    """Seconds the worker measured, from loading the inputs to the function's return."""
    reason: str
    error: ErrorView | None
    ready_at: float | None = None
    """When its inputs were known and it was queued (its ``ready`` event)."""
    queued: float | None = None
    """Seconds from ``ready_at`` to ``started_at``: waiting for a slot, resources and the
    cache lookup."""
    overhead: float | None = None
    """Seconds of its wall time (``started_at`` to ``ended_at``) outside ``ran_for``:
    legato's own work around the function (see the module)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskView:
    """One task (or item of a mapped task) of a run."""

    key: str
    name: str
    state: str
    attempt: int
    map_index: int | None
    parent: str | None
    mapped: bool
    items: int | None
    started_at: float | None
    ended_at: float | None
    first_started_at: float | None
    duration: float | None
    ran_for: float | None
    reason: str
    error: ErrorView | None
    cache: CacheView
    output: OutputView | None
    attempts: tuple[AttemptView, ...]
    queued: float | None = None
    """Seconds its attempts waited in the queue, in all (None: none was queued and ran)."""
    overhead: float | None = None
    """Seconds legato spent around the function over its attempts, in all (None: no
    attempt records both its wall time and ``ran_for``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskList:
    """Tasks ``offset`` to ``offset + len(tasks)`` of the ``total`` a run's filter (a state,
    a mapped task's items) matches: in the order they appeared (the group records of
    mapped tasks in their places), a map's items by map index."""

    run_id: str
    tasks: tuple[TaskView, ...]
    total: int = 0
    offset: int = 0
    state: str | None = None
    parent: str | None = None
    """The mapped task whose items these are; None: the run's tasks."""


def error_view(error: ErrorInfo | None) -> ErrorView | None:
    """``error`` as shown."""
    if error is None:
        return None
    return ErrorView(
        type=error.type_name,
        message=error.message,
        traceback=error.traceback,
        kind=error.kind.value,
    )


def output_view(ref: ArtifactRef | None) -> OutputView | None:
    """An output's metadata, or None for no output."""
    return None if ref is None else described(ref)


def described(ref: ArtifactRef) -> OutputView:
    """An artifact's metadata (its location is not shown: artifacts are addressed by run,
    task and attempt, never by path)."""
    return OutputView(
        checksum=ref.checksum,
        size=ref.size,
        serializer=ref.serializer,
        producer=ref.producer,
        inline=ref.inline is not None,
        meta={str(k): str(v) for k, v in ref.meta.items()},
    )


def attempts_of(events: Iterable[Event]) -> dict[str, list[AttemptView]]:
    """Each task's attempts, by key, from a run's events (in order)."""
    found: dict[str, dict[int, AttemptView]] = {}
    for event in events:
        if not isinstance(event, TaskTransitioned):
            continue
        attempts = found.setdefault(event.key, {})
        before = attempts.get(event.attempt)
        if before is not None and before.ended_at is not None:
            continue  # what follows an attempt's end (a late report) changes nothing
        ends = event.state in _ENDS_ATTEMPT
        started_at = (
            event.at
            if event.state is TaskState.RUNNING
            else (before.started_at if before else None)
        )
        ready_at = (
            event.at if event.state is TaskState.READY else (before.ready_at if before else None)
        )
        ended_at = event.at if ends else None
        attempts[event.attempt] = AttemptView(
            attempt=event.attempt,
            state=event.state.value,
            started_at=started_at,
            ended_at=ended_at,
            ran_for=event.ran_for,
            reason=event.reason,
            error=error_view(event.error),
            ready_at=ready_at,
            queued=_between(ready_at, started_at),
            overhead=_outside(started_at, ended_at, event.ran_for),
        )
    return {key: [a[n] for n in sorted(a)] for key, a in found.items()}


def _between(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def _outside(started: float | None, ended: float | None, ran_for: float | None) -> float | None:
    wall = _between(started, ended)
    return None if wall is None or ran_for is None else wall - ran_for


def _total(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def cache_reasons(events: Iterable[Event]) -> dict[str, str]:
    """What the cache said about each task that looked (``cache: hit from run X``,
    ``cache: miss, code changed``...), by key: the latest word of its events."""
    return {
        event.key: event.reason
        for event in events
        if isinstance(event, TaskTransitioned) and event.reason.startswith(_CACHE_WORD)
    }


def task_view(
    record: TaskRecord,
    attempts: Iterable[AttemptView],
    cache_reason: str | None = None,
    previous: Mapping[str, str] | None = None,
) -> TaskView:
    """A task as shown: its record, its attempts, what the cache said about it and, for a
    miss, the parts it was compared with (``previous``)."""
    tried = tuple(attempts)
    parts = dict(record.cache_parts) if record.cache_parts is not None else None
    missed = cache_reason is not None and cache_reason.startswith(_MISS)
    before = dict(previous) if missed and previous is not None else None
    return TaskView(
        key=record.key,
        name=record.name,
        state=record.state.value,
        attempt=record.attempt,
        map_index=record.map_index,
        parent=record.parent,
        mapped=record.mapped,
        items=record.items,
        started_at=record.started_at,
        ended_at=record.ended_at,
        first_started_at=record.first_started_at,
        duration=record.duration,
        ran_for=record.ran_for,
        reason=record.reason,
        error=error_view(record.error),
        cache=CacheView(
            key=record.cache_key,
            hit_from=record.cache_hit,
            parts=parts,
            reason=cache_reason,
            previous_parts=before,
            changed=_changed(before, parts),
        ),
        output=output_view(record.output),
        attempts=tried,
        queued=_total(a.queued for a in tried),
        overhead=_total(a.overhead for a in tried),
    )


def _changed(before: Mapping[str, str] | None, now: Mapping[str, str] | None) -> tuple[str, ...]:
    if before is None or now is None:
        return ()
    return tuple(part for part in _PARTS if before.get(part) != now.get(part))


def task_list(
    store: RunStore,
    run_id: str,
    *,
    state: str | None = None,
    parent: str | None = None,
    offset: int = 0,
    limit: int = MAX_TASKS,
) -> TaskList:
    """A page of run ``run_id``'s tasks (an id or a unique prefix): in the order they
    appeared, the group records of mapped tasks in their places, or the items of the mapped
    task ``parent`` by map index; in ``state`` when given; ``limit`` (1 to
    :data:`MAX_TASKS`) from the ``offset``-th; with their attempts, from the events of
    these tasks alone. A cache miss is set beside the parts the engine compared it with
    (those the newest of the three runs of the pipeline before it recorded for the task,
    as the engine chose them: ``engine.caching.EarlierParts``). Raises ``ParameterError``
    for a page out of bounds or a state that is not a task state."""
    if not 1 <= limit <= MAX_TASKS or offset < 0:
        raise ParameterError(f"a page is 1 to {MAX_TASKS} tasks from offset 0 or more")
    wanted = task_state(state)
    info = store.get_run(run_id)
    if parent is None:
        states = None if wanted is None else [wanted]
        page = store.task_page(info.run_id, states=states, offset=offset, limit=limit, groups=True)
    else:
        page = store.map_items(info.run_id, parent, state=wanted, offset=offset, limit=limit)
    log = store.read_events(info.run_id, keys=[r.key for r in page.items]) if page.items else []
    attempts = attempts_of(log)
    said = cache_reasons(log)
    previous: Mapping[str, Any] = {}
    missed = [key for key, reason in said.items() if reason.startswith(_MISS)]
    if missed:
        earlier = store.find_runs(
            RunQuery(pipeline=info.pipeline, created_before=info.created_at, limit=3)
        )
        previous = EarlierParts(store, [r.run_id for r in earlier.runs]).of(missed)
    return TaskList(
        run_id=info.run_id,
        tasks=tuple(
            task_view(r, attempts.get(r.key, ()), said.get(r.key), previous.get(r.key))
            for r in page.items
        ),
        total=page.total,
        offset=offset,
        state=state,
        parent=parent,
    )


def task_state(state: str | None) -> TaskState | None:
    """The task state named ``state`` (None for None); raises ``ParameterError`` for a name
    that is no task state."""
    if state is None:
        return None
    try:
        return TaskState(state)
    except ValueError:
        known = ", ".join(s.value for s in TaskState)
        raise ParameterError(f"no task state {state!r}: one of {known}") from None
