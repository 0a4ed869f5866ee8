"""The reducer: a run's state as a function of its events.

``fold(events)`` rebuilds a :class:`~legato.model.records.RunRecord` from nothing; ``apply``
adds one event to a record the caller owns. Both are deterministic and do no I/O, so a run can
be rebuilt after a crash and tested from recorded histories. What an event does to a task's
record is :mod:`legato.model.fold`, shared with the run stores' projections; this module adds
the run's own fields and rollback. Task records are frozen and replaced on each change; the run
record's task table is updated in place so that applying an event costs O(1) however large the
run.
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
from legato.model.fold import add_planned, change_of, expand
from legato.model.fold import apply as apply_change
from legato.model.records import RunRecord
from legato.model.rollback import CompensationRecord, RollbackState
from legato.model.states import RunState

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
        tasks = run.tasks
        tasks[event.key] = apply_change(tasks[event.key], change_of(event))
    elif isinstance(event, MapExpanded):
        expand(run.tasks, event)
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
        run.sizes = {t.key: t.items for t in event.tasks if t.items is not None}
        run.started_at = event.at
        add_planned(run.tasks, event)
    else:
        raise TypeError(f"unknown event type {type(event).__name__}")
    run.last_seq = event.seq


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
