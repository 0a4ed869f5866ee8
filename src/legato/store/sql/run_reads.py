"""What a SQL run store reads about its runs: tasks, events, tracked values, logs.

Each read is one transaction on a pooled connection (:class:`Transactions`), its query
built in :mod:`reads`, :mod:`item_reads` or :mod:`overview_reads`; :class:`SqlRunStore`
adds the writes, the cache and its life (opening, the append process, closing).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

from legato.model.events import Event
from legato.model.records import TaskRecord
from legato.model.runs import LogEntry
from legato.model.states import TaskState
from legato.model.tracking import Tracked
from legato.store.base import ItemPage, RunReading, StepCount
from legato.store.sql import event_reads, item_reads, log_reads, overview_reads, reads
from legato.store.sql.transactions import Transactions

__all__ = ["SqlRunReads"]


class SqlRunReads:
    """The reading half of :class:`~legato.store.sql.store.SqlRunStore`."""

    _tx: Transactions

    def read_runs(
        self,
        run_ids: Sequence[str],
        *,
        extremes: bool = False,
        metrics: Collection[str] | None = None,
    ) -> dict[str, RunReading]:
        """The runs with exactly these ids, with their tracked values and cache hits: on one
        connection, a few chunked ``IN (...)`` queries (:func:`reads.runs_of`)."""
        return self._tx.read(
            f"reading {len(run_ids)} runs",
            partial(reads.runs_of, run_ids, extremes=extremes, metrics=metrics),
        )

    def read_tracked(self, run_id: str, *, extremes: bool = False) -> list[Tracked]:
        """The tracked values of a run: by task key, attempt, kind, name and step (of each
        metric series only its extremes and last point, with ``extremes``: one grouped
        query)."""
        return self._tx.read(
            f"reading the tracked values of run {run_id!r}",
            partial(reads.tracked, run_id, extremes=extremes),
        )

    def read_events(
        self,
        run_id: str,
        after_seq: int = 0,
        *,
        limit: int | None = None,
        kinds: Collection[type[Event]] | None = None,
        keys: Collection[str] | None = None,
        states: Collection[TaskState] | None = None,
    ) -> list[Event]:
        """The run's events after ``after_seq`` (of ``kinds``; the task events of ``keys``,
        into ``states``: :func:`event_reads.read_events`), in order, ``limit`` of them when
        given (none for an unknown run)."""
        return self._tx.read(
            f"reading the events of run {run_id!r}",
            partial(
                event_reads.read_events,
                run_id,
                after_seq=after_seq,
                limit=limit,
                kinds=kinds,
                keys=keys,
                states=states,
            ),
        )

    def cache_parts(
        self, run_id: str, *, keys: Collection[str] | None = None
    ) -> dict[str, dict[str, str]]:
        """What the cache keys of a run's tasks covered, by task key (one light query; of
        ``keys``, a few primary-key seeks per chunk of them)."""
        return self._tx.read(
            f"reading the cache keys of run {run_id!r}",
            partial(reads.cache_parts, run_id, keys=keys),
        )

    def task_records(self, run_id: str, *, keys: Collection[str] | None = None) -> list[TaskRecord]:
        """The task projection: planned tasks in plan order, then map items as they appeared
        (of ``keys`` only, when given)."""
        return self._tx.read(
            f"reading the tasks of run {run_id!r}", partial(reads.tasks, run_id, keys=keys)
        )

    def planned_tasks(self, run_id: str) -> list[TaskRecord]:
        """The planned tasks in plan order, map items left out."""
        return self._tx.read(f"reading the plan of run {run_id!r}", partial(reads.planned, run_id))

    def item_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """Each mapped task's items per state (one grouped query)."""
        return self._tx.read(
            f"counting the map items of run {run_id!r}", partial(reads.item_counts, run_id)
        )

    def map_items(
        self,
        run_id: str,
        parent: str,
        *,
        state: TaskState | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> ItemPage:
        """A page of a mapped task's items, by map index (:func:`item_reads.map_items`)."""
        return self._tx.read(
            f"reading the items of {parent!r} in run {run_id!r}",
            partial(item_reads.map_items, run_id, parent, state=state, offset=offset, limit=limit),
        )

    def run_output(self, run_id: str) -> dict[str, Any] | None:
        """How the run's output is made (:func:`overview_reads.run_output`)."""
        return self._tx.read(
            f"reading the output of run {run_id!r}", partial(overview_reads.run_output, run_id)
        )

    def step_counts(self, run_id: str) -> list[StepCount]:
        """Tasks per name per state (:func:`overview_reads.step_counts`: one grouped query)."""
        return self._tx.read(
            f"counting the tasks of run {run_id!r}", partial(overview_reads.step_counts, run_id)
        )

    def task_page(
        self,
        run_id: str,
        *,
        states: Collection[TaskState] | None = None,
        offset: int = 0,
        limit: int = 100,
        groups: bool = False,
    ) -> ItemPage:
        """A page of the run's tasks in ``states`` (:func:`overview_reads.task_page`)."""
        return self._tx.read(
            f"reading the tasks of run {run_id!r}",
            partial(
                overview_reads.task_page,
                run_id,
                states=states,
                offset=offset,
                limit=limit,
                groups=groups,
            ),
        )

    def cache_hits(self, run_id: str) -> dict[str, str]:
        """Task key -> the run whose output it reused (one light query)."""
        return self._tx.read(
            f"reading the cache hits of run {run_id!r}", partial(reads.cache_hits, run_id)
        )

    def read_logs(
        self, run_id: str, *, key: str | None = None, after_seq: int = 0
    ) -> list[LogEntry]:
        """Captured output of a run (or one task key), in order."""
        return self._tx.read(
            f"reading the logs of run {run_id!r}",
            partial(log_reads.logs_of, run_id, key, after_seq),
        )

    def log_size(self, run_id: str, key: str, attempt: int) -> int:
        """Bytes (UTF-8) that attempt wrote."""
        return self._tx.read(
            f"reading the logs of run {run_id!r}", partial(log_reads.log_size, run_id, key, attempt)
        )

    def read_log_bytes(self, run_id: str, key: str, attempt: int, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of what that attempt wrote."""
        return self._tx.read(
            f"reading the logs of run {run_id!r}",
            partial(log_reads.log_bytes, run_id, key, attempt, start=start, stop=stop),
        )
