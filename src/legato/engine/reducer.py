"""The reducer: a run's state as a function of its events.

``fold(events)`` rebuilds a :class:`~legato.model.records.RunRecord` from nothing; ``apply``
adds one event to a record the caller owns. Both are deterministic and do no I/O, so a run can
be rebuilt after a crash and tested from recorded histories. Task records are frozen and
replaced on each change; the run record's task table is updated in place so that applying an
event costs O(1) however large the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from legato.model.events import (
    Event,
    MapExpanded,
    RollbackPlanned,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.records import RunRecord, TaskRecord
from legato.model.rollback import CompensationRecord, RollbackState
from legato.model.states import TASK_TERMINAL, RunState, TaskState

__all__ = ["apply", "fold"]


def fold(events: Iterable[Event]) -> RunRecord:
    """The run described by ``events`` (which start with its ``RunStarted``)."""
    run: RunRecord | None = None
    for event in events:
        if run is None:
            run = RunRecord(run_id=event.run_id)
        apply(run, event)
    if run is None:
        raise ValueError("no events: a run starts with a RunStarted event")
    return run


def apply(run: RunRecord, event: Event) -> None:
    """Add ``event`` to ``run``. An event of another run, or one not after the last event
    applied, raises ``ValueError`` and leaves ``run`` as it was."""
    if event.run_id != run.run_id:
        raise ValueError(f"event {event.seq} of run {event.run_id} applied to run {run.run_id}")
    if event.seq <= run.last_seq:
        raise ValueError(f"event {event.seq} of run {run.run_id} is out of order")
    if isinstance(event, TaskTransitioned):
        _task(run, event)
    elif isinstance(event, MapExpanded):
        _expand(run, event)
    elif isinstance(event, RunTransitioned):
        run.state = event.state
        if event.reason:
            run.reason = event.reason
        if event.state.is_terminal:
            run.ended_at = event.at
        elif event.state is RunState.RUNNING and run.rollbacks:
            # A resume runs the work again: the finished rollback belongs to the past.
            run.rollbacks = {}
            run.rollback_reason = ""
    elif isinstance(event, RollbackTransitioned):
        _compensation(run, event)
    elif isinstance(event, RollbackPlanned):
        run.rollback_reason = event.reason
        run.rollbacks = {key: CompensationRecord(key=key) for key in event.keys}
    elif isinstance(event, RunStarted):
        run.pipeline = event.pipeline
        run.params = dict(event.params)
        run.executor = event.executor
        run.failure_policy = event.failure_policy
        run.caching = event.caching
        run.started_at = event.at
        for planned in event.tasks:
            run.tasks[planned.key] = TaskRecord(
                key=planned.key, name=planned.name, mapped=planned.mapped
            )
    else:
        raise TypeError(f"unknown event type {type(event).__name__}")
    run.last_seq = event.seq


def _task(run: RunRecord, event: TaskTransitioned) -> None:
    old = run.tasks[event.key]
    state = event.state
    started_at = old.started_at
    first = old.first_started_at
    ended_at = old.ended_at
    ran_for = old.ran_for
    if state is TaskState.RUNNING:
        started_at = event.at
        ended_at = None
        ran_for = None
        if first is None:
            first = event.at
    elif state in TASK_TERMINAL or state is TaskState.RETRY_WAIT:
        ended_at = event.at
        ran_for = event.ran_for
    run.tasks[event.key] = TaskRecord(
        key=old.key,
        name=old.name,
        state=state,
        attempt=event.attempt,
        map_index=old.map_index,
        parent=old.parent,
        mapped=old.mapped,
        items=old.items,
        started_at=started_at,
        ended_at=ended_at,
        first_started_at=first,
        ran_for=ran_for,
        reason=event.reason,
        error=event.error
        if event.error is not None
        else (old.error if state is TaskState.RETRY_WAIT else None),
        output=event.output,
        cache_key=event.cache_key if event.cache_key is not None else old.cache_key,
        cache_hit=event.cache_hit,
        cache_parts=event.cache_parts if event.cache_parts is not None else old.cache_parts,
    )


def _compensation(run: RunRecord, event: RollbackTransitioned) -> None:
    old = run.rollbacks.get(event.key)
    if old is None:
        raise ValueError(f"event {event.seq}: {event.key!r} is not part of the run's rollback")
    started = event.state is RollbackState.STARTED
    run.rollbacks[event.key] = replace(
        old,
        state=event.state,
        attempt=event.attempt,
        reason=event.reason,
        error=event.error,
        started_at=event.at if started else old.started_at,
        ended_at=None if started else event.at,
    )


def _expand(run: RunRecord, event: MapExpanded) -> None:
    # The group itself moved to RUNNING by a TaskTransitioned just before; this adds its items.
    tasks = run.tasks
    group = tasks[event.key]
    tasks[event.key] = _with_items(group, event.count)
    name = group.name
    key = event.key
    for i in range(event.count):
        child = f"{key}[{i}]"
        tasks[child] = TaskRecord(
            key=child, name=name, state=TaskState.READY, map_index=i, parent=key
        )


def _with_items(group: TaskRecord, count: int) -> TaskRecord:
    # replace(), not a field-by-field copy, so that no field a later change adds is lost.
    return replace(group, mapped=True, items=count)
