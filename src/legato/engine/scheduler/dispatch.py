"""Which ready instances start, and the calls in flight.

Ready instances wait in two queues: ``unchecked`` until the cache has been asked about them
(in one lookup per turn), then ``ready`` until the resources they need are free. Admission
takes the ready queue in order (:class:`~legato.engine.resources.Admission`). A started
instance holds a slot and its resources until its call's outcome comes back, or until the
scheduler writes the call off (timeout, cancel) and the executor confirms it stopped.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator

from legato.config import SecretRefs
from legato.engine.resources import Admission, ResourcePool
from legato.engine.scheduler.tasks import TaskEntry
from legato.model.calls import TaskCall
from legato.model.specs import Capacity

__all__ = ["Call", "Dispatcher"]


class Call:
    """A call handed out (or about to be) until its outcome arrives."""

    __slots__ = ("attempt", "entry", "gpu_ids", "stopping")

    def __init__(self, entry: TaskEntry, attempt: int, gpu_ids: tuple[int, ...]) -> None:
        self.entry = entry
        self.attempt = attempt
        self.gpu_ids = gpu_ids
        self.stopping = False
        """Written off (timed out, cancelled): its state is settled, its outcome ignored."""


class Dispatcher:
    """The ready queues, the resource pool and the calls in flight of one run."""

    __slots__ = ("_ids", "calls", "pool", "ready", "unchecked")

    def __init__(self, capacity: Capacity) -> None:
        self.pool = ResourcePool(capacity)
        self.ready: deque[TaskEntry] = deque()
        self.unchecked: deque[TaskEntry] = deque()
        self.calls: dict[int, Call] = {}
        self._ids = itertools.count(1)

    def new_call_id(self) -> int:
        """A call id unique within the run's executor."""
        return next(self._ids)

    def admit(self) -> Iterator[TaskEntry]:
        """The ready instances that fit now, in queue order; the others stay queued."""
        ready = self.ready
        if not ready:
            return
        admission = Admission(self.pool)
        skipped: list[TaskEntry] = []
        try:
            while ready and not admission.exhausted:
                entry = ready.popleft()
                if admission.admit(entry.node.amounts):
                    yield entry
                else:
                    skipped.append(entry)
        finally:
            if skipped:
                ready.extendleft(reversed(skipped))

    def claim(
        self,
        entry: TaskEntry,
        attempt: int,
        *,
        run_id: str,
        secrets: SecretRefs | None,
        store_url: str | None,
    ) -> TaskCall:
        """Take ``entry``'s resources and a slot; the call that runs its attempt."""
        node = entry.node
        gpu_ids = self.pool.acquire(node.amounts)
        call_id = next(self._ids)
        bound = entry.bound
        assert bound is not None
        spec = node.spec
        self.calls[call_id] = Call(entry, attempt, gpu_ids)
        return TaskCall(
            call_id=call_id,
            run_id=run_id,
            key=entry.key,
            task=spec.name,
            fn=spec.fn,
            fn_id=spec.fn_id,
            attempt=attempt,
            map_index=entry.index,
            args=bound[0],
            kwargs=bound[1],
            resources=spec.options.resources,
            timeout=spec.options.timeout,
            split_output=node.split_output and entry.index is None,
            gpu_ids=gpu_ids,
            secrets=secrets,
            store_url=store_url,
        )

    def settle(self, call_id: int) -> Call | None:
        """The call an outcome is about, its resources given back; None for a duplicate or
        the late report of a call no longer tracked."""
        call = self.calls.pop(call_id, None)
        if call is not None:
            self.pool.release(call.entry.node.amounts, call.gpu_ids)
        return call

    def running(self) -> dict[str, tuple[int, Call]]:
        """Calls not written off, by task key."""
        return {c.entry.key: (cid, c) for cid, c in self.calls.items() if not c.stopping}

    def clear_queues(self) -> None:
        """Forget every instance waiting to start (the run is stopping)."""
        self.ready.clear()
        self.unchecked.clear()
