"""One run as the in-memory store holds it: its events, and the records folded from them.

An append applies each event on its own, in order, with the task fold of
:mod:`legato.model.fold` (the engine's reducer's too), fenced by its ``admits``; the SQL
store gets the same results by composing a batch's changes per task and upserting them in
SQL, and the conformance suite (``tests/store/conformance.py``) holds both to the same
answers. The store around it (:mod:`legato.store.memory`) checks who may append and what,
and holds the lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from legato.errors import StoreError
from legato.model.events import Event, MapExpanded, RunStarted, RunTransitioned, TaskTransitioned
from legato.model.fold import add_planned, admits, apply, change_of, expand
from legato.model.records import TaskRecord
from legato.model.runs import RunInfo
from legato.model.states import TaskState
from legato.model.tracking import Tracked
from legato.store.memory_cache import MemoryCache

__all__ = ["MemoryRun"]


@dataclass(slots=True)
class MemoryRun:
    """A run's info, its event log, its task records and its tracked values."""

    info: RunInfo
    last_seq: int = 0
    events: list[Event] = field(default_factory=list)
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    tracked: dict[tuple[str, int, str, str, int], Tracked] = field(default_factory=dict)

    def track(self, tracked: Sequence[Tracked]) -> None:
        """Keep the ``tracked`` values of attempts (a value tracked again replaces the one
        before); ``StoreError``, keeping none, if one is another run's."""
        run_id = self.info.run_id
        for record in tracked:
            if record.run_id != run_id:
                raise StoreError(
                    f"a tracked value of run {record.run_id!r} cannot be appended to run {run_id!r}"
                )
        for record in tracked:
            ident = (record.key, record.attempt, record.kind.value, record.name, record.step)
            self.tracked[ident] = record

    def fold(self, events: Sequence[Event], cache: MemoryCache) -> RunInfo:
        """Apply ``events`` (checked to continue the log) to the task records, in order,
        with ``cache`` keeping the outputs and cache entries they make; the run's info as
        they leave it, for the store to stamp with its heartbeat and keep."""
        info = self.info
        for event in events:
            if isinstance(event, TaskTransitioned):
                self._task(event, cache)
            elif isinstance(event, MapExpanded):
                expand(self.tasks, event)
            elif isinstance(event, RunTransitioned):
                info = dataclasses.replace(
                    info,
                    state=event.state,
                    reason=event.reason or info.reason,
                    ended_at=event.at if event.state.is_terminal else None,
                )
            elif isinstance(event, RunStarted):
                add_planned(self.tasks, event)
        return info

    def _task(self, event: TaskTransitioned, cache: MemoryCache) -> None:
        old = self.tasks.get(event.key)
        if old is None:  # a key no plan named: kept all the same, named after itself
            self.tasks[event.key] = apply(
                TaskRecord(key=event.key, name=event.key), change_of(event)
            )
        elif admits(old.state, old.attempt, event.attempt):
            self.tasks[event.key] = apply(old, change_of(event))
        cache.keep(event, self.tasks[event.key].name)

    def events_after(
        self,
        after_seq: int,
        *,
        limit: int | None,
        kinds: Collection[type[Event]] | None,
        keys: Collection[str] | None,
        states: Collection[TaskState] | None,
    ) -> list[Event]:
        """The events after ``after_seq`` (of ``kinds``; the task events of ``keys``, into
        ``states``), in order, ``limit`` of them when given."""
        task_only = keys is not None or states is not None
        keys = None if keys is None else frozenset(keys)
        found = [
            e
            for e in self.events
            if e.seq > after_seq
            and (kinds is None or type(e) in kinds)
            and (not task_only or _among(e, keys, states))
        ]
        return found if limit is None else found[:limit]

    def tracked_values(self) -> list[Tracked]:
        """The tracked values by task key, attempt, kind, name and step."""
        return [self.tracked[k] for k in sorted(self.tracked)]

    def cache_parts(self, keys: Collection[str] | None) -> dict[str, dict[str, str]]:
        """What the cache keys of the run's tasks covered, by task key (of ``keys`` only,
        when given)."""
        tasks = self.tasks
        found = tasks.items() if keys is None else ((k, tasks[k]) for k in keys if k in tasks)
        return {k: dict(t.cache_parts) for k, t in found if t.cache_parts}

    def task_records(self, keys: Collection[str] | None) -> list[TaskRecord]:
        """Planned tasks in plan order, then map items as they appeared (of ``keys`` only,
        when given)."""
        if keys is None:
            return list(self.tasks.values())
        wanted = set(keys)
        return [r for r in self.tasks.values() if r.key in wanted]


def _among(
    event: Event, keys: Collection[str] | None, states: Collection[TaskState] | None
) -> bool:
    """Whether ``event`` is a task event of one of ``keys`` into one of ``states`` (either
    when not given)."""
    return (
        isinstance(event, TaskTransitioned)
        and (keys is None or event.key in keys)
        and (states is None or event.state in states)
    )
