"""Handing calls to the executor: write-ahead dispatch.

With a store, a call is handed to the executor only once the batch holding its claim (and
so every event before it: the successes of the tasks whose outputs it binds, a cache hit it
reads, the ``started`` of a compensation) is committed, so that nothing acts on an output
the store could lose and the lineage a run records is what happened. Calls wait in
``held`` meanwhile; the driver commits at once while any waits instead of waiting for more
outcomes to join the batch, so a chain pays one commit per hop while independent tasks
still share commits. Without a store nothing can be lost, and calls go out at once.

A call is also handed over only with at least half of this orchestrator's lease left, and
its deadline is armed when it begins to run. The driver decides when to commit; this
module decides which calls may go, and carries them out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from legato._crash import crash_point
from legato.engine.clock import Clock
from legato.engine.journal import Journal
from legato.engine.scheduler import Deadline
from legato.engine.scheduler.dispatch import Dispatcher
from legato.engine.timers import Timers
from legato.executors.base import Executor
from legato.model.calls import CallStarted, OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind

__all__ = ["Handover"]

log = logging.getLogger("legato.engine")


class Handover:
    """The calls the scheduler submitted, from their ``Submit`` until the executor has them."""

    def __init__(
        self,
        *,
        executor: Executor,
        journal: Journal,
        clock: Clock,
        timers: Timers,
        dispatcher: Dispatcher,
        lease: float,
        report: Callable[[TaskOutcome | CallStarted], None],
        cancel_run: Callable[[str], None],
    ) -> None:
        self.executor = executor
        self.journal = journal
        self.clock = clock
        self.timers = timers
        self.dispatcher = dispatcher
        self.lease = lease
        """Seconds this orchestrator's ownership of the run lasts without renewal: commits
        and heartbeats renew it; calls are handed over only with half of it left."""
        self._report = report
        self._cancel_run = cancel_run
        self._durable = journal.store is not None
        self.held: dict[int, tuple[int, TaskCall]] = {}
        """Calls waiting for their claims to be committed: call id -> (seq to commit, call)."""
        self.in_submit = False
        """Whether the executor is running a call on this thread (a synchronous executor):
        a signal then interrupts the call rather than asking for a cancel."""
        self.ran = 0.0
        """Seconds a synchronous executor ran calls inside ``submit``: not the
        orchestrator's own work."""

    def hold(self, call: TaskCall, after: int) -> None:
        """Keep ``call`` until the events up to ``after`` (its claim) are committed."""
        self.held[call.call_id] = (after, call)

    def first_claim(self) -> int:
        """The sequence number the earliest held call waits for."""
        return min(after for after, _ in self.held.values())

    def cancel(self, call_id: int) -> None:
        """Stop call ``call_id``: the executor's, or one never handed over, which stopped
        before it began."""
        held = self.held.pop(call_id, None)
        if held is None:
            self.executor.cancel(call_id)
        else:
            self.abandon(held[1])

    def release(self) -> None:
        """Hand over the held calls whose claims are committed (with a store: the driver
        has committed what it could first), renewing the lease first when it runs late."""
        held = self.held
        if self._durable:
            self._renew_if_late()
            committed = self.journal.committed
            calls = [call for after, call in held.values() if after <= committed]
            for call in calls:
                del held[call.call_id]
        else:
            calls = [call for _, call in held.values()]
            held.clear()
        if calls:
            self._submit(calls)

    def _renew_if_late(self) -> None:
        """Renew the lease before handing work over when less than half of it is sure to
        be left: a call started late in a lease could still be running when another
        orchestrator, judging the lease expired, takes the run over. A renewal refused
        (``FencedError``: the run was taken over) ends this orchestrator's part; one that
        blocks (the database is locked) starts nothing meanwhile."""
        now = self.clock.monotonic()
        if now - self.journal.last_commit > self.lease / 2:
            self.journal.heartbeat(now)

    def _submit(self, calls: list[TaskCall]) -> None:
        crash_point("task_claimed")
        executor = self.executor
        for i, call in enumerate(calls):
            self.in_submit = True
            started = time.perf_counter()
            try:
                executor.submit(call)
            except KeyboardInterrupt:
                # Ctrl-C inside an inline task: that task is stopped, the run cancelled.
                self._cancel_run("interrupted")
                executor.cancel(call.call_id)
                for rest in calls[i + 1 :]:
                    self.abandon(rest)
                return
            except Exception as exc:
                log.exception("executor failed to submit %s", call.key)
                message = f"the {executor.name} executor could not start it: {exc}"
                self._report(
                    call.ended(OutcomeKind.FAILED, ErrorInfo.of(ErrorKind.INTERNAL, message))
                )
            else:
                if not executor.starts_late:
                    self.arm(call.call_id, call.attempt)
            finally:
                self.in_submit = False
                if executor.synchronous:  # the call ran here: that is not overhead
                    self.ran += time.perf_counter() - started

    def arm(self, call_id: int, attempt: int) -> None:
        """Start the timeout of a call that began to run (a call already ended, or without
        a timeout, has none to start)."""
        running = self.dispatcher.calls.get(call_id)
        if running is None or running.attempt != attempt or running.stopping:
            return
        timeout = running.entry.node.spec.options.timeout
        if timeout is not None:
            self.timers.add(self.clock.monotonic() + timeout, Deadline(call_id, attempt))

    def abandon(self, call: TaskCall) -> None:
        """Report ``call`` stopped: it was never handed over, and never ran."""
        self._report(call.ended(OutcomeKind.STOPPED))
