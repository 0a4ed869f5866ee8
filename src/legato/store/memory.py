"""The in-memory run store: the reference implementation of :class:`~legato.store.base.RunStore`.

Nothing touches the disk, so it suits tests and notebooks that want no files. This module
holds the runs by id and decides who may write what (owners, fencing, leases on the store's
clock); each run's event log and the records folded from it are a
:class:`~legato.store.memory_runs.MemoryRun`, and the cache every run shares is a
:class:`~legato.store.memory_cache.MemoryCache`. One lock guards everything, so one store may
be shared by threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence

from legato.errors import FencedError, RunExistsError, StoreError, UnknownRunError
from legato.model.events import Event
from legato.model.jsonable import to_jsonable
from legato.model.records import TaskRecord
from legato.model.registry import ModelVersion
from legato.model.run_query import RunPage, RunQuery
from legato.model.runs import CacheHit, LogEntry, RunInfo
from legato.model.states import RunState, TaskState
from legato.model.tracking import Tracked
from legato.store import tallies
from legato.store.base import RunReading
from legato.store.memory_cache import MemoryCache
from legato.store.memory_models import MemoryModelStore, fence_version
from legato.store.memory_queries import find_runs
from legato.store.memory_reads import MemoryRunReads
from legato.store.memory_runs import MemoryRun
from legato.store.refusals import (
    check_batch,
    fenced_message,
    only_match,
    refuse_take_over,
    unknown_run_message,
)

__all__ = ["MemoryRunStore"]


class MemoryRunStore(MemoryRunReads):
    """A :class:`~legato.store.base.RunStore` that keeps everything in this process."""

    url: str = "memory://"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        """The store's clock: it stamps heartbeats and judges leases, as a database's does."""
        self._lock = threading.Lock()
        self._runs: dict[str, MemoryRun] = {}
        self._numbers = itertools.count(1)
        """One sequence for the cache's entries and the log's: a log entry's ``seq``."""
        self._cache = MemoryCache(self._numbers)
        self._logs: list[LogEntry] = []
        self._models = MemoryModelStore(self._fence_version)

    @property
    def models(self) -> MemoryModelStore:
        """The model registry, kept in this process too."""
        return self._models

    @contextlib.contextmanager
    def _fence_version(self, version: ModelVersion, owner: str | None) -> Iterator[None]:
        """This store's transaction for a version of a run's task (``memory_models.Fence``):
        every run held still while the version is written, once it passed the fences."""
        with self._lock:
            run = self._runs.get(version.run_id or "")
            task = run.tasks.get(version.task or "") if run is not None else None
            held = (run.info.owner, run.info.epoch) if run is not None else None
            attempt = task.attempt if task is not None else None
            fence_version(version, owner, held=held, attempt=attempt, where=self.url)
            yield

    # -- runs ------------------------------------------------------------------------------

    def create_run(self, run: RunInfo) -> None:
        """Record a new run; ``RunExistsError`` if its id is taken."""
        try:  # what a durable store could not keep is refused here too
            to_jsonable(dict(run.params))
            to_jsonable(dict(run.environment))
        except (TypeError, ValueError) as exc:
            raise StoreError(f"run {run.run_id!r} cannot be stored: {exc}") from None
        with self._lock:
            if run.run_id in self._runs:
                raise RunExistsError(f"a run with id {run.run_id!r} exists already")
            self._runs[run.run_id] = MemoryRun(info=_copy_info(run))

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id or the only one whose id starts with it."""
        with self._lock:
            exact = self._runs.get(run_id)
            if exact is not None:
                return exact.info
            matches = sorted(r for r in self._runs if run_id and r.startswith(run_id))
            return self._runs[only_match(run_id, matches, self.url)].info

    def list_runs(
        self, *, pipeline: str | None = None, state: RunState | None = None, limit: int = 50
    ) -> list[RunInfo]:
        """Runs, newest first (by creation time, then id)."""
        with self._lock:
            infos = [
                r.info
                for r in self._runs.values()
                if (pipeline is None or r.info.pipeline == pipeline)
                and (state is None or r.info.state == state)
            ]
        infos.sort(key=lambda i: (i.created_at, i.run_id), reverse=True)
        return infos[: max(limit, 0)]

    def find_runs(self, query: RunQuery) -> RunPage:
        """One page of the runs ``query`` selects, in its order (see
        :mod:`legato.model.run_query`)."""
        with self._lock:
            infos = [r.info for r in self._runs.values()]
        return find_runs(infos, self.read_tracked, query)

    def heartbeat(self, run_id: str, owner: str) -> None:
        """Renew ``owner``'s lease (stamped with the store's clock); ``FencedError`` if it no
        longer owns the run."""
        with self._lock:
            run = self._owned(run_id, owner)
            run.info = dataclasses.replace(run.info, heartbeat_at=self._clock())

    def take_over(
        self, run_id: str, owner: str, *, lease: float, seen: RunInfo | None = None
    ) -> RunInfo:
        """Make ``owner`` the run's orchestrator (see :meth:`RunStore.take_over`)."""
        with self._lock:
            run = self._get(run_id)
            info = run.info
            if info.owner == owner:
                return info
            now = self._clock()
            refuse_take_over(info, seen, lease, now)
            run.info = dataclasses.replace(
                info,
                owner=owner,
                epoch=info.epoch + 1,
                heartbeat_at=now,
                state=RunState.RUNNING,
                cancel_requested_at=None,  # a request was for the run as it was
                cancel_reason="",
            )
            return run.info

    def request_cancel(self, run_id: str, reason: str) -> RunInfo:
        """Record a cancel request for the run (see :meth:`RunStore.request_cancel`)."""
        exact = self.get_run(run_id).run_id  # a prefix names one run, or fails
        with self._lock:
            run = self._get(exact)
            info = run.info
            if info.cancel_requested_at is None and not info.state.is_terminal:
                run.info = dataclasses.replace(
                    info, cancel_requested_at=self._clock(), cancel_reason=reason
                )
            return run.info

    def cancel_requested(self, run_id: str) -> str | None:
        """The reason of a cancel request for the run, or None."""
        with self._lock:
            info = self._get(run_id).info
        return None if info.cancel_requested_at is None else info.cancel_reason or "cancelled"

    # -- events ----------------------------------------------------------------------------

    def append(
        self,
        run_id: str,
        owner: str,
        events: Sequence[Event],
        tracked: Sequence[Tracked] = (),
    ) -> None:
        """Commit ``events`` with their projection, artifacts, cache entries, heartbeat and
        the ``tracked`` values of attempts."""
        with self._lock:
            run = self._owned(run_id, owner)
            if events:
                check_batch(run_id, run.last_seq, events)
            run.track(tracked)
            if not events:
                return
            info = run.fold(events, self._cache)
            run.info = dataclasses.replace(info, heartbeat_at=self._clock())
            run.events.extend(events)
            run.last_seq = events[-1].seq

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
        into ``states``), in order, ``limit`` of them when given (none for an unknown
        run)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return []
            return run.events_after(after_seq, limit=limit, kinds=kinds, keys=keys, states=states)

    def read_runs(
        self,
        run_ids: Sequence[str],
        *,
        extremes: bool = False,
        metrics: Collection[str] | None = None,
    ) -> dict[str, RunReading]:
        """The runs with exactly these ids, with their tracked values and cache hits (of
        the series not named in ``metrics``, when given, only the last point)."""
        with self._lock:
            found = [r for r in dict.fromkeys(run_ids) if r in self._runs]
        return {
            run_id: RunReading(
                info=self.get_run(run_id),
                tracked=tallies.named_series(self.read_tracked(run_id, extremes=extremes), metrics),
                cache_hits=self.cache_hits(run_id),
            )
            for run_id in found
        }

    def read_tracked(self, run_id: str, *, extremes: bool = False) -> list[Tracked]:
        """The tracked values of a run: by task key, attempt, kind, name and step (of each
        metric series only its extremes and last point, with ``extremes``)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return []
            found = run.tracked_values()
        return tallies.extremes(found) if extremes else found

    def cache_parts(
        self, run_id: str, *, keys: Collection[str] | None = None
    ) -> dict[str, dict[str, str]]:
        """What the cache keys of a run's tasks covered, by task key (of ``keys`` only,
        when given)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return {}
            return run.cache_parts(keys)

    def task_records(self, run_id: str, *, keys: Collection[str] | None = None) -> list[TaskRecord]:
        """The task projection: planned tasks in plan order, then map items as they appeared
        (of ``keys`` only, when given)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return []
            return run.task_records(keys)

    # -- cache -----------------------------------------------------------------------------

    def lookup_cache(self, keys: Sequence[str]) -> dict[str, CacheHit]:
        """The newest entry for each key that has one."""
        with self._lock:
            return self._cache.lookup(keys)

    def clear_cache(self, *, task: str | None = None) -> int:
        """Forget all entries, or those of one task (its name, or its key in a run)."""
        with self._lock:
            return self._cache.clear(task)

    def task_names(self) -> list[str]:
        """The names of every task of any run and of cache entries, sorted."""
        with self._lock:
            names = {r.name for run in self._runs.values() for r in run.tasks.values()}
            return sorted(names | self._cache.task_names())

    # -- logs ------------------------------------------------------------------------------

    def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store captured output; each entry gets the next sequence number."""
        with self._lock:
            for entry in entries:
                if entry.run_id not in self._runs:
                    raise UnknownRunError(unknown_run_message(entry.run_id, self.url))
            for entry in entries:
                self._logs.append(dataclasses.replace(entry, seq=next(self._numbers)))

    def read_logs(
        self, run_id: str, *, key: str | None = None, after_seq: int = 0
    ) -> list[LogEntry]:
        """Captured output of a run (or one task key), in order."""
        with self._lock:
            return [
                e
                for e in self._logs
                if e.run_id == run_id and e.seq > after_seq and (key is None or e.key == key)
            ]

    def log_size(self, run_id: str, key: str, attempt: int) -> int:
        """Bytes (UTF-8) that attempt wrote."""
        return len(tallies.attempt_output(self.read_logs(run_id, key=key), key, attempt))

    def read_log_bytes(self, run_id: str, key: str, attempt: int, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of what that attempt wrote."""
        data = tallies.attempt_output(self.read_logs(run_id, key=key), key, attempt)
        return data[max(start, 0) : max(stop, 0)]

    def close(self) -> None:
        """Nothing to release."""

    # -- helpers ---------------------------------------------------------------------------

    def _get(self, run_id: str) -> MemoryRun:
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(unknown_run_message(run_id, self.url))
        return run

    def _owned(self, run_id: str, owner: str) -> MemoryRun:
        run = self._get(run_id)
        if run.info.owner != owner:
            raise FencedError(fenced_message(run_id, run.info.owner, run.info.epoch))
        return run


def _copy_info(run: RunInfo) -> RunInfo:
    return dataclasses.replace(run, params=dict(run.params), environment=dict(run.environment))
