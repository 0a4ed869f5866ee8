"""Which ready instances start, which are claimed ahead, and the calls in flight.

Ready instances wait in ``unchecked`` until the cache has been asked about them (one lookup
per turn), then in ``ready`` until the resources they need are free. Starting one claims it
(its ``running`` event) and takes its resources and a slot; the driver hands the call over
once the claim is committed.

**Claims run ahead of the workers, for short tasks.** With a store, every claim must be
committed before its call starts (write-ahead dispatch), so a fan-out of tiny tasks would
wait for one commit per free slot. Instead, while a task's kind has been short so far, the
next ready instances are claimed before a slot is free (``claimed``: their ``running``
events join the commit that runs while the workers work) and start without waiting for a
commit when one frees. How far ahead is bounded by expected work, not by count: about
:data:`RUNAHEAD_BUDGET_S` of it (the mean run time of the task's attempts so far, per
slot), so a claimed instance shows ``running`` at most a few milliseconds before it runs,
and a task whose attempts take longer than that is never claimed ahead.

**Claimed calls may also be handed over ahead of a free worker**, to an executor that
starts calls within its capacity itself (``Executor.queue_ahead``, the threads executor):
up to that many claimed instances start without taking resources here, and wait in the
executor's queue, so that a worker ending a call takes the next at once instead of idling
through the driver's round trip (the outcome, the commit, the next submit). Only claimed
instances go this way (tasks whose attempts took a few milliseconds so far), and none that
asks for GPUs (their indices are handed out here), so such a call waits in the queue about
as long as one short attempt.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator

from legato.config import SecretRefs
from legato.engine.resources import Admission, ResourcePool
from legato.engine.scheduler.tasks import TaskEntry
from legato.engine.scheduler.waiting import WaitQueue
from legato.model.calls import TaskCall
from legato.model.specs import Capacity

__all__ = ["RUNAHEAD_BUDGET_S", "RUNAHEAD_MAX", "Call", "Dispatcher"]

RUNAHEAD_BUDGET_S = 0.01
"""Expected work, in seconds per slot, that claims may run ahead of free workers."""
RUNAHEAD_MAX = 4096
"""The most instances claimed ahead at once, however short their tasks."""
_WEIGHT = 0.2  # of the newest attempt in a task's mean run time


class Call:
    """A call handed out (or about to be) until its outcome arrives."""

    __slots__ = ("attempt", "entry", "gpu_ids", "queued", "stopping")

    def __init__(
        self, entry: TaskEntry, attempt: int, gpu_ids: tuple[int, ...], queued: bool = False
    ) -> None:
        self.entry = entry
        self.attempt = attempt
        self.gpu_ids = gpu_ids
        self.queued = queued
        """Handed over ahead of a free worker: it holds none of the pool's resources."""
        self.stopping = False
        """Written off (timed out, cancelled): its state is settled, its outcome ignored."""


class Dispatcher:
    """The ready queues, the resource pool and the calls in flight of one run."""

    __slots__ = (
        "_ids",
        "_means",
        "calls",
        "claimed",
        "pool",
        "queue_ahead",
        "queued",
        "ready",
        "runahead",
        "unchecked",
    )

    def __init__(self, capacity: Capacity, *, runahead: bool = False, queue_ahead: int = 0) -> None:
        self.pool = ResourcePool(capacity)
        self.unchecked: deque[TaskEntry] = deque()
        self.ready = WaitQueue()
        self.claimed = WaitQueue()
        """Claimed ahead (``running`` on record) and waiting for resources, oldest first."""
        self.calls: dict[int, Call] = {}
        self.runahead = runahead
        """Whether claims may run ahead (only worth it when claims must be committed)."""
        self.queue_ahead = queue_ahead
        """How many claimed calls may wait in the executor's queue beyond the pool."""
        self.queued = 0
        """Calls handed over ahead of the pool and not settled yet."""
        self._ids = itertools.count(1)
        self._means: dict[str, float] = {}  # task name -> mean run time of its attempts

    def new_call_id(self) -> int:
        """A call id unique within the run's executor."""
        return next(self._ids)

    @staticmethod
    def enqueue(queue: deque[TaskEntry] | WaitQueue, entry: TaskEntry) -> None:
        """Queue ``entry``: at the front for the next step of a mapped sub-pipeline's item
        (its chain goes through before other items start), else at the back."""
        if entry.node.chained:
            queue.appendleft(entry)
        else:
            queue.append(entry)

    def admit(self) -> Iterator[TaskEntry]:
        """The instances that may start now, claimed ones first, each queue in order; the
        others stay queued."""
        if not self.claimed and not self.ready:
            return
        admission = Admission(self.pool)
        for queue in (self.claimed, self.ready):
            if admission.exhausted:
                return
            yield from queue.admitted(admission)

    def to_claim_ahead(self) -> Iterator[TaskEntry]:
        """Ready instances to claim now, before a slot is free (see the module's doc)."""
        if not self.runahead:
            return
        ready, claimed = self.ready, self.claimed
        slots = self.pool.total["slots"]
        while ready:
            node = ready.first().node
            if node.lane is not None:
                return  # a claimed first step would go before an item's next step
            mean = self._means.get(node.spec.name)
            if mean is None:
                return
            allowed = RUNAHEAD_MAX if mean <= 0 else int(slots * RUNAHEAD_BUDGET_S / mean)
            if len(claimed) >= min(allowed, RUNAHEAD_MAX):
                return
            yield ready.popleft()

    def to_queue_ahead(self) -> Iterator[TaskEntry]:
        """Claimed instances to hand over now, beyond what the pool has room for, while the
        executor's queue has room (see the module's doc); started with ``queued=True``."""
        claimed = self.claimed
        while claimed and self.queued < self.queue_ahead:
            if claimed.first().node.amounts.get("gpus"):
                return
            yield claimed.popleft()

    def ran(self, entry: TaskEntry, seconds: float) -> None:
        """Note how long an attempt of ``entry``'s task ran."""
        key = entry.node.spec.name  # the task, however many nodes and items use it
        mean = self._means.get(key)
        self._means[key] = seconds if mean is None else mean + _WEIGHT * (seconds - mean)

    def start(
        self,
        entry: TaskEntry,
        attempt: int,
        *,
        run_id: str,
        secrets: SecretRefs | None,
        store_url: str | None,
        owner: str | None,
        queued: bool = False,
    ) -> TaskCall:
        """Take ``entry``'s resources and a slot (none when ``queued``: handed over ahead of
        them, :meth:`to_queue_ahead`); the call that runs its attempt."""
        node = entry.node
        if queued:
            gpu_ids: tuple[int, ...] = ()
            self.queued += 1
        else:
            gpu_ids = self.pool.acquire(node.amounts)
        call_id = next(self._ids)
        bound = entry.bound
        assert bound is not None
        spec = node.spec
        self.calls[call_id] = Call(entry, attempt, gpu_ids, queued)
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
            owner=owner,
        )

    def settle(self, call_id: int) -> Call | None:
        """The call an outcome is about, its resources given back; None for a duplicate or
        the late report of a call no longer tracked."""
        call = self.calls.pop(call_id, None)
        if call is not None:
            if call.queued:
                self.queued -= 1
            else:
                self.pool.release(call.entry.node.amounts, call.gpu_ids)
        return call

    def forget_calls(self) -> None:
        """Stop tracking every call (the run ends without waiting for them)."""
        self.calls.clear()
        self.queued = 0

    def running(self) -> dict[str, tuple[int, Call]]:
        """Calls not written off, by task key."""
        return {c.entry.key: (cid, c) for cid, c in self.calls.items() if not c.stopping}

    def clear_queues(self) -> None:
        """Forget every instance waiting to start (the run is stopping)."""
        self.unchecked.clear()
        self.ready.clear()
        self.claimed.clear()
