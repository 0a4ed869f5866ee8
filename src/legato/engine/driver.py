"""The driver: carries out what the scheduler decides, and feeds it what happens.

It owns everything with effects: the executor (calls out, outcomes back through an inbox
that any thread may fill), the journal (commits, then listeners), the clock and the timers,
captured output and tracked values. Each turn it hands the scheduler its inputs (outcomes,
due timers, a cancel request), takes the events and commands they caused, commits the
events and carries out the commands. The calls it is told to submit go out through the
hand-over (:mod:`legato.engine.handover`), which keeps each until its claim is committed
(write-ahead dispatch); a turn with held calls commits at once instead of waiting for more
outcomes to join the batch.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Mapping, Sequence
from typing import Any

from legato.config import SecretRefs
from legato.engine.binding import Inputs
from legato.engine.caching import Caching
from legato.engine.clock import Clock
from legato.engine.collector import fewer_collections
from legato.engine.handover import Handover
from legato.engine.journal import Journal, Listener
from legato.engine.plan import Plan
from legato.engine.scheduler import Cancel, LookUp, Scheduler, SetTimer, Submit
from legato.engine.scheduler.tasks import TaskEntry
from legato.engine.stored import answer, recorded_values
from legato.engine.timers import Timers
from legato.executors.base import Executor
from legato.model.calls import CallStarted, TaskOutcome
from legato.model.records import RunRecord
from legato.model.tracking import Tracked
from legato.runtime.logs import LogSink, capture_in_process, release_in_process
from legato.runtime.tracking import Destination, release_tracking, track_in_process
from legato.store.base import ArtifactStore

__all__ = ["Driver", "Listener"]

_WAKE: Any = object()
_BATCH_EVENTS = 1000
_BATCH_AGE_S = 0.02
"""Events wait for more to join their commit at most this many, or this long (only while
no call waits for them)."""
_BIG_LOOKUP = 64
"""A cache lookup of this many tasks takes long enough to commit meanwhile."""
_PULSE_S = 0.5
"""How often a durable run wakes to stream captured output, check its heartbeat and read
the cancel requests recorded in the store."""
_SIGN_OF_LIFE_S = 1.0
"""The longest a durable run goes without a heartbeat, whatever its lease: the last one is
where the duration of a run whose orchestrator died ends (``legato runs``)."""


class Driver:
    """Runs one plan on one executor to the end."""

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        executor: Executor,
        clock: Clock,
        listeners: Sequence[Listener] = (),
        seed: int | None = None,
        journal: Journal | None = None,
        artifacts: ArtifactStore | None = None,
        caching: Caching | None = None,
        lease: float = 30.0,
        resume_from: RunRecord | None = None,
        damaged: Mapping[str, str] | None = None,
        echo_logs: bool = True,
        secrets: SecretRefs | None = None,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.executor = executor
        self.clock = clock
        self.journal = journal or Journal(run_id, store=None, owner="", listeners=listeners)
        self.artifacts = artifacts
        self.caching = caching
        self._renew_every = max(_PULSE_S, min(lease / 4, _SIGN_OF_LIFE_S))
        self.echo_logs = echo_logs
        self._resume_from = resume_from
        self._damaged = damaged or {}
        store = self.journal.store
        self._durable = store is not None
        self.logs = LogSink() if store is not None else None
        store_url = getattr(store, "url", None)
        self.scheduler = Scheduler(
            run_id=run_id,
            plan=plan,
            capacity=executor.admits,
            executor=executor.name,
            hard_timeouts=executor.hard_timeouts,
            seed=seed,
            caching=caching is not None,
            secrets=secrets,
            # Worker processes open the run's store by URL for legato.register_model.
            store_url=None if store_url in (None, "memory://") else store_url,
            owner=self.journal.owner if store is not None else None,  # fences register_model
            runahead=store is not None,
            queue_ahead=executor.queue_ahead,  # of claimed calls: none without a store
        )
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._timers = Timers()
        self.handover = Handover(
            executor=executor,
            journal=self.journal,
            clock=clock,
            timers=self._timers,
            dispatcher=self.scheduler.dispatcher,
            lease=lease,
            report=self.report,
            cancel_run=self.request_cancel,
        )
        self._cancel_requested = False
        self._cancel_reason = ""
        self._cancel_told = False
        self.idle = 0.0
        self._began = time.perf_counter()
        self._ended: float | None = None

    @property
    def run(self) -> RunRecord:
        """The run's record as decided so far."""
        return self.scheduler.run

    @property
    def inputs(self) -> Inputs:
        """The outputs known so far."""
        return self.scheduler.inputs

    @property
    def busy(self) -> float:
        """Seconds the orchestrator itself worked on this run (bookkeeping, commits, cache,
        dispatch), not counting waits nor the calls a synchronous executor ran."""
        end = self._ended if self._ended is not None else time.perf_counter()
        return max(0.0, end - self._began - self.idle - self.handover.ran)

    # ------------------------------------------------------------------ any thread

    def request_cancel(self, reason: str = "cancelled") -> None:
        """Ask for the run to be cancelled; safe from any thread or a signal handler."""
        if not self._cancel_requested:
            self._cancel_reason = reason
        self._cancel_requested = True
        self.inbox.put(_WAKE)

    def report(self, outcome: TaskOutcome | CallStarted) -> None:
        """Where the executor delivers outcomes and starts (any thread)."""
        self.inbox.put(outcome)

    def _wake(self) -> None:
        self.inbox.put(_WAKE)

    # ------------------------------------------------------------------ the run

    def execute(self) -> RunRecord:
        """Run to the end; returns the final run record."""
        with fewer_collections():  # a run's records live until it ends: fewer GC passes
            return self._execute_capturing()

    def _execute_capturing(self) -> RunRecord:
        if self.logs is None:
            return self._execute()
        capture_in_process(self.run_id, self.logs.write, echo=self.echo_logs)
        store = self.journal.store
        track_in_process(
            self.run_id,
            Destination(write=self.logs.track, artifacts=self.artifacts, runs=lambda _: store),
        )
        try:
            return self._execute()
        finally:
            self.journal.close()
            release_in_process(self.run_id)
            release_tracking(self.run_id)
            self._flush_logs()

    def _execute(self) -> RunRecord:
        self._began = time.perf_counter()
        scheduler = self.scheduler
        clock = self.clock
        self._open_executor()
        record = self._resume_from
        if record is None:
            scheduler.start(clock.time())
        else:
            values = recorded_values(record, self.plan, self.artifacts)
            scheduler.resume(record, values, clock.time(), self._damaged)
        self._take()
        while True:
            self._tell_cancel()
            scheduler.step(clock.time())
            self._take()
            self._release()
            if scheduler.done:
                break
            if not self._timers.live and not scheduler.in_flight and not self._cancel_requested:
                open_ = scheduler.table.open
                stuck = ", ".join(f"{k} ({self.run.tasks[k].state})" for k in list(open_)[:5])
                raise RuntimeError(f"legato bug: run {self.run_id} cannot progress: {stuck}")
            items = self._commit_and_wait()
            self._tell_cancel()  # before outcomes: a call stopped by it was cancelled
            for item in items:
                if isinstance(item, CallStarted):
                    self.handover.arm(item.call_id, item.attempt)
                elif item is not _WAKE:
                    scheduler.on_outcome(item, clock.time())
            self._take()
            self._fire_timers()
        self._flush(final=True)
        self._ended = time.perf_counter()
        return self.run

    def _commit_and_wait(self) -> list[Any]:
        """Group commit, then what arrived in the inbox. Events wait in the journal while
        more outcomes keep coming, and are committed (then shown to listeners) before the
        driver would block, when many or old enough, or when less than half of the claims
        that ran ahead are committed (so that a freed worker finds one durable)."""
        journal, clock, scheduler = self.journal, self.clock, self.scheduler
        claimed = scheduler.dispatcher.claimed
        if journal.pending and (
            journal.pending >= _BATCH_EVENTS
            or journal.waited(clock.monotonic()) >= _BATCH_AGE_S
            or (claimed and _seq(claimed[len(claimed) // 2]) > journal.committed)
        ):
            self._flush()
        item = None
        if journal.pending and scheduler.in_flight and not self.handover.held:
            # More outcomes are on their way: let them join this batch for a moment.
            young = _BATCH_AGE_S - journal.waited(clock.monotonic())
            item = self._wait(_min_timeout(young, self._next_timeout()))
        if item is None:
            self._flush()
            item = self._wait(self._next_timeout())
        items = [] if item is None else [item]
        while True:
            try:
                items.append(self.inbox.get_nowait())
            except queue.Empty:
                return items

    def force_stop(self) -> None:
        """End the run at once (second Ctrl-C): everything open is cancelled without waiting
        for running calls to confirm they stopped."""
        self._cancel_requested = True
        self.scheduler.force_stop(self._cancel_reason, self.clock.time())
        self._take()
        self.handover.held.clear()
        self._flush(final=True)

    def _tell_cancel(self) -> None:
        if self._cancel_requested and not self._cancel_told:
            self._cancel_told = True
            self.scheduler.cancel(self._cancel_reason, self.clock.time())
            self._take()

    def _open_executor(self) -> None:
        self.executor.open(self.report, self.artifacts, self.logs)
        if not self.executor.synchronous:
            # The store writes while the driver schedules (a synchronous executor runs calls
            # on this thread, and commits before each: nothing to overlap).
            self.journal.start_writer(self._wake)
        if self._durable:
            self._timers.add(self.clock.monotonic() + _PULSE_S, None)

    def _wait(self, timeout: float | None) -> Any:
        started = time.perf_counter()
        try:
            return self.clock.wait(self.inbox, timeout)
        finally:
            self.idle += time.perf_counter() - started

    # ------------------------------------------------------------------ commands

    def _take(self) -> None:
        """Take what the scheduler decided: events into the buffer, commands carried out
        (a cache lookup is answered at once, and may start more)."""
        scheduler = self.scheduler
        clock = self.clock
        while True:
            events, commands = scheduler.take()
            if events:
                self.journal.add(events, clock.monotonic())
            lookup: LookUp | None = None
            for command in commands:
                if isinstance(command, Submit):
                    self.handover.hold(command.call, command.after)
                elif isinstance(command, Cancel):
                    self.handover.cancel(command.call_id)
                elif isinstance(command, SetTimer):
                    self._timers.add(clock.monotonic() + command.delay, command.timer)
                else:
                    lookup = command
            if lookup is None:
                return
            if len(lookup.requests) >= _BIG_LOOKUP:
                self._flush()  # a map's expansion commits while its items are looked up
            assert self.caching is not None
            scheduler.on_verdicts(answer(lookup, self.caching, self.artifacts), clock.time())
            scheduler.step(clock.time())

    def _release(self) -> None:
        """Hand over the held calls whose claims are committed; commit first when some wait."""
        if not self.handover.held:
            return
        if self.executor.synchronous or (self._durable and not self.journal.background):
            # A synchronous executor runs the call inside submit: its claim is committed and
            # shown first, store or no store, as nothing can be shown while it runs.
            self._flush(final=True)
        elif self._durable and self.scheduler.in_flight > len(self.handover.held):
            # The executor has calls to run meanwhile: the writer thread commits while the
            # driver takes their outcomes, and wakes it to hand the held calls over.
            self._flush()
        elif self._durable:
            # Nothing to do but wait for the commit: do it here (a hand-off to the writer
            # thread would only add two thread switches to every hop of a chain).
            self._flush(through=self.handover.first_claim())
        # A cancel asked for meanwhile (a listener, a signal) stops what has not started.
        self._tell_cancel()
        self.handover.release()

    # ------------------------------------------------------------------ commits

    def _flush(self, *, final: bool = False, through: int | None = None) -> None:
        """Commit what waits (see :meth:`Journal.flush`), with the values tasks tracked
        meanwhile, but for those of attempts written off; store captured output."""
        tracked: list[Tracked] = []
        if self.logs is not None:
            may_track = self.scheduler.ledger.may_track
            tracked = [t for t in self.logs.drain_tracked() if may_track(t)]
        self.journal.flush(self.clock.monotonic(), tracked, final=final, through=through)
        self._flush_logs()

    def _flush_logs(self) -> None:
        if self.logs is not None:
            entries = self.logs.drain()
            if entries:
                self.journal.logs(entries)

    # ------------------------------------------------------------------ timers

    def _next_timeout(self) -> float | None:
        return self._timers.timeout(self.clock.monotonic())

    def _fire_timers(self) -> None:
        now = self.clock.monotonic()
        for timer in self._timers.due(now):
            if timer is None:
                self._heartbeat(now)
            else:
                self.scheduler.on_timer(timer, self.clock.time())
                self._take()

    def _heartbeat(self, now: float) -> None:
        # Also the pulse that streams captured output and tracked values of long tasks to
        # the store.
        self._flush()
        if self.journal.last_commit <= now - self._renew_every:
            self.journal.heartbeat(now)
        if not self._cancel_requested:
            asked = self.journal.cancel_requested()
            if asked is not None:
                self.request_cancel(asked)
        if not self.scheduler.done:
            self._timers.add(now + _PULSE_S, None)


def _seq(entry: TaskEntry) -> int:
    assert entry.claim_seq is not None
    return entry.claim_seq


def _min_timeout(a: float, b: float | None) -> float:
    return max(0.0, a if b is None else min(a, b))
