"""The in-memory store's reads that are derived from its task records and events: the same
tallies (:mod:`legato.store.tallies`) the conformance suite holds the SQL store's grouped
queries to."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from typing import Any

from legato.model.events import Event, RunStarted
from legato.model.records import TaskRecord
from legato.model.states import TaskState
from legato.store import tallies
from legato.store.base import ItemPage, StepCount

__all__ = ["MemoryRunReads"]


class MemoryRunReads(ABC):
    """What :class:`~legato.store.memory.MemoryRunStore` reads by folding its own records:
    it supplies the primitive reads below, this class the summaries built on them."""

    @abstractmethod
    def task_records(self, run_id: str, *, keys: Collection[str] | None = None) -> list[TaskRecord]:
        """The run's task records (of ``keys`` only, when given), in the order they appeared."""

    @abstractmethod
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
        """The run's events, filtered as :meth:`RunStore.read_events` says."""

    def planned_tasks(self, run_id: str) -> list[TaskRecord]:
        """The planned tasks in plan order, map items left out."""
        return tallies.planned(self.task_records(run_id))

    def item_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """Each mapped task's items per state."""
        return tallies.item_counts(self.task_records(run_id))

    def map_items(
        self,
        run_id: str,
        parent: str,
        *,
        state: TaskState | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> ItemPage:
        """A page of a mapped task's items, by map index."""
        total, items = tallies.map_items(self.task_records(run_id), parent, state, offset, limit)
        return ItemPage(total=total, items=items)

    def run_output(self, run_id: str) -> dict[str, Any] | None:
        """How the run's output is made, as its ``RunStarted`` recorded it."""
        for started in self.read_events(run_id, kinds=[RunStarted], limit=1):
            assert isinstance(started, RunStarted)
            return None if started.output is None else dict(started.output)
        return None

    def step_counts(self, run_id: str) -> list[StepCount]:
        """Tasks per name per state, names in plan order."""
        return tallies.step_counts(self.task_records(run_id))

    def task_page(
        self,
        run_id: str,
        *,
        states: Collection[TaskState] | None = None,
        offset: int = 0,
        limit: int = 100,
        groups: bool = False,
    ) -> ItemPage:
        """A page of the run's tasks in ``states``, in the order they appeared."""
        records = self.task_records(run_id)
        total, found = tallies.task_page(records, states, offset, limit, groups)
        return ItemPage(total=total, items=found)

    def cache_hits(self, run_id: str) -> dict[str, str]:
        """Task key -> the run whose output it reused."""
        return tallies.cache_hits(self.task_records(run_id))
