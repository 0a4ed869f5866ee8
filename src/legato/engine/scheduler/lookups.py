"""Ready instances waiting for the cache's verdict.

The instances that became ready are bound and asked about in one
:class:`~legato.engine.scheduler.commands.LookUp` (one store query), at most
:data:`LOOKUP_AT_ONCE` of them, oldest first: a map of a million items is not bound and keyed
all at once (about 400 bytes an item until it runs), but a batch at a time, as the instances
already answered run short or leave a slot idle.
A hit settles its instance without running it (which may make dependents ready: they are
asked about in the next lookup); a miss carries its key and reason into the attempt's
record and waits for resources.
"""

from __future__ import annotations

from collections.abc import Sequence

from legato.engine.caching import Verdict
from legato.engine.scheduler.commands import LookUp
from legato.engine.scheduler.flow import Flow
from legato.engine.scheduler.restore import shape
from legato.engine.scheduler.tasks import TaskEntry
from legato.model.states import TaskState
from legato.model.values import Value

__all__ = ["LOOKUP_AT_ONCE", "CacheAnswer", "Lookups"]

LOOKUP_AT_ONCE = 4096
"""The most instances one lookup asks about. Above what claims may run ahead of the workers
(:data:`~legato.engine.scheduler.dispatch.RUNAHEAD_MAX`), so that a lookup never holds back
a start; small enough that what a waiting instance holds stays a few megabytes."""

CacheAnswer = tuple[Verdict, Value | None]
"""A cache verdict and, for a hit, its stored output as the run binds it (None: the stored
result cannot be read, so the task runs)."""


class Lookups:
    """The cache lookup in flight, if any."""

    __slots__ = ("flow", "waiting")

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.waiting: list[TaskEntry] = []
        """Instances asked about, in the order of the lookup's requests."""

    def running_short(self) -> bool:
        """Whether instances wait for the cache while fewer than a lookup's worth have been
        answered and wait to start: ask before admitting (in ready order, so a chained
        step asked about now still goes first)."""
        dispatcher = self.flow.dispatcher
        return bool(dispatcher.unchecked) and len(dispatcher.ready) < LOOKUP_AT_ONCE

    def left_idle(self) -> bool:
        """Whether instances wait for the cache while a slot stayed free after admitting:
        those answered wait for a resource that is taken, and others may start meanwhile."""
        dispatcher = self.flow.dispatcher
        return bool(dispatcher.unchecked) and dispatcher.pool.free["slots"] > 0

    def ask(self) -> None:
        """Ask about the instances waiting longest for the cache (:data:`LOOKUP_AT_ONCE` at
        most)."""
        flow = self.flow
        unchecked = flow.dispatcher.unchecked
        if len(unchecked) <= LOOKUP_AT_ONCE:
            self.waiting = list(unchecked)
            unchecked.clear()
        else:
            self.waiting = [unchecked.popleft() for _ in range(LOOKUP_AT_ONCE)]
        requests = []
        for entry in self.waiting:
            entry.bound = flow.bind(entry)
            requests.append((entry.node, entry.key, entry.bound))
        flow.ledger.commands.append(LookUp(tuple(requests)))

    def answer(self, answers: Sequence[CacheAnswer]) -> None:
        """The answers to the lookup, in its order."""
        waiting, self.waiting = self.waiting, []
        dispatcher = self.flow.dispatcher
        for entry, (verdict, value) in zip(waiting, answers, strict=True):
            entry.cache_key = verdict.key
            entry.cache_parts = verdict.parts
            entry.cache_reason = verdict.reason
            if verdict.hit is None or value is None or not self._reuse(entry, verdict, value):
                dispatcher.enqueue(dispatcher.ready, entry)

    def _reuse(self, entry: TaskEntry, verdict: Verdict, value: Value) -> bool:
        hit = verdict.hit
        assert hit is not None
        flow = self.flow
        flow.inputs.keep(entry.key, value, *shape(value))
        decided = flow.transition(
            entry,
            TaskState.SUCCEEDED,
            flow.attempt(entry),
            reason=verdict.reason,
            output=hit.output,
            cache_hit=hit.run_id,
        )
        if decided is None:
            flow.inputs.drop(entry.key)
            return False
        return True
