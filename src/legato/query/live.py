"""A run followed live: its committed events folded by the engine's own reducer into
*patches*, each saying what the events after the previous one changed (the run's own fields
and every task they touched, whole).

A follower starts from any sequence number: the events up to it are folded first and not
sent (the client has them), so a client that reconnects after the last patch it received
continues exactly where it was, and its state, patched, is always the reducer's fold of the
events up to the last patch's ``seq``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from legato.engine.reducer import apply
from legato.model.events import (
    Event,
    MapExpanded,
    RunStarted,
    TaskTransitioned,
)
from legato.model.records import RunRecord, TaskRecord
from legato.query.tasks import ErrorView, OutputView, error_view, output_view

__all__ = ["LiveRun", "LiveTask", "Patch", "RunFollower", "live_run", "live_task"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveTask:
    """A task as a live view holds it."""

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
    reason: str
    error: ErrorView | None
    cache_hit: str | None
    output: OutputView | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRun:
    """The run's own fields as a live view holds them."""

    state: str
    reason: str
    started_at: float | None
    ended_at: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Patch:
    """What the events up to ``seq`` changed since the previous patch."""

    seq: int
    run: LiveRun
    tasks: dict[str, LiveTask]


def live_task(record: TaskRecord) -> LiveTask:
    """``record`` as a live view holds it."""
    return LiveTask(
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
        reason=record.reason,
        error=error_view(record.error),
        cache_hit=record.cache_hit,
        output=output_view(record.output),
    )


def live_run(record: RunRecord) -> LiveRun:
    """The run's own fields of ``record``."""
    return LiveRun(
        state=record.state.value,
        reason=record.reason,
        started_at=record.started_at,
        ended_at=record.ended_at,
    )


class RunFollower:
    """Folds a run's events as they come and answers patches. Owned by one stream."""

    def __init__(self, run_id: str) -> None:
        self._tasks: dict[str, TaskRecord] = {}
        """The record's tasks, a dict: it is read from the end (what an event added)."""
        self.record = RunRecord(run_id=run_id, tasks=self._tasks)

    @property
    def seq(self) -> int:
        """The last event folded."""
        return self.record.last_seq

    def skip(self, events: Sequence[Event]) -> None:
        """Fold ``events`` without a patch (the client has them)."""
        for event in events:
            apply(self.record, event)

    def patch(self, events: Sequence[Event]) -> Patch | None:
        """Fold ``events`` (those after :attr:`seq`); what they changed, or None for no
        events."""
        if not events:
            return None
        touched: dict[str, None] = {}
        tasks = self._tasks
        for event in events:
            known = len(tasks)
            apply(self.record, event)
            if isinstance(event, TaskTransitioned | MapExpanded):
                touched[event.key] = None
            if isinstance(event, MapExpanded | RunStarted):
                # The records an event adds come last in the table (it keeps insertion order).
                added = list(islice(reversed(tasks), len(tasks) - known))
                touched.update(dict.fromkeys(reversed(added)))
        return Patch(
            seq=self.record.last_seq,
            run=live_run(self.record),
            tasks={key: live_task(tasks[key]) for key in touched if key in tasks},
        )
