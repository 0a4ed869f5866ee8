"""The scheduler: the state of one run, driven by inputs, answering with events and commands.

Inputs are the run's start (or resume), outcomes of calls, timers, cache verdicts and
cancel requests, each with the wall-clock time it is handled at. After each, the driver
takes the events (to commit) and commands (to carry out) that it caused. The scheduler does
no I/O and reads no clock, so it is tested with plain objects; the driver
(:mod:`legato.engine.driver`) owns the executor, the journal, the clock and the timers.

Who owns what: the :class:`Ledger` the run record and what was decided; the
:class:`TaskTable` which instances wait for which; the :class:`Dispatcher` the ready queues,
resources and calls in flight; the :class:`Flow` how states follow from each other;
:class:`Rollback` the compensations of a failed run. This class only routes inputs to them
and decides when the run ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from legato.config import SecretRefs
from legato.engine import saga
from legato.engine.binding import Inputs
from legato.engine.plan import Plan
from legato.engine.rules import Proposal
from legato.engine.scheduler.commands import (
    Cancel,
    Command,
    Deadline,
    RetryDue,
    SetTimer,
    Submit,
)
from legato.engine.scheduler.dispatch import Dispatcher
from legato.engine.scheduler.flow import Flow
from legato.engine.scheduler.ledger import Ledger
from legato.engine.scheduler.lookups import CacheAnswer, Lookups
from legato.engine.scheduler.restore import restore
from legato.engine.scheduler.rollback import Rollback
from legato.engine.scheduler.tasks import TaskEntry, TaskTable
from legato.model.artifacts import ArtifactRef
from legato.model.calls import OutcomeKind, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import Event, PlannedTask, RunStarted
from legato.model.outputs import describe_output
from legato.model.records import RunRecord
from legato.model.specs import Capacity
from legato.model.states import TASK_OK, RunState, TaskState
from legato.model.values import Stored, StoredItems, Value

__all__ = ["CacheAnswer", "Scheduler"]

_FAILED = frozenset({TaskState.FAILED, TaskState.TIMED_OUT})


class Scheduler:
    """Runs one plan: every decision, no effects."""

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        capacity: Capacity,
        executor: str,
        hard_timeouts: bool = False,
        seed: int | None = None,
        caching: bool = False,
        secrets: SecretRefs | None = None,
        store_url: str | None = None,
        owner: str | None = None,
        runahead: bool = False,
        queue_ahead: int = 0,
    ) -> None:
        self.plan = plan
        self.executor = executor
        self.hard_timeouts = hard_timeouts
        self.secrets = secrets
        self.store_url = store_url
        self.owner = owner
        self.ledger = Ledger(run_id, seed)
        self.table = TaskTable(plan)
        self.dispatcher = Dispatcher(capacity, runahead=runahead, queue_ahead=queue_ahead)
        self.inputs = Inputs(plan.params)
        self.inputs.recorded = lambda key: self.ledger.run.tasks[key].output
        self.flow = Flow(
            plan=plan,
            ledger=self.ledger,
            table=self.table,
            dispatcher=self.dispatcher,
            inputs=self.inputs,
            caching=caching,
        )
        self.rollback = Rollback(
            ledger=self.ledger,
            plan=plan,
            outputs=self.inputs.value,
            new_call_id=self.dispatcher.new_call_id,
            secrets=secrets,
        )
        self.cancel_requested = False
        self.cancel_reason = ""
        self.lookups = Lookups(self.flow)

    @property
    def run(self) -> RunRecord:
        """The run as decided so far (events applied as they are made)."""
        return self.ledger.run

    @property
    def done(self) -> bool:
        """Whether the run has ended."""
        return self.ledger.run.state.is_terminal

    @property
    def in_flight(self) -> int:
        """Calls handed out (or to be) whose outcome has not come back."""
        return len(self.dispatcher.calls) + (self.rollback.call is not None)

    def take(self) -> tuple[list[Event], list[Command]]:
        """What the inputs since the last call decided: events to commit, then commands."""
        return self.ledger.take()

    # ------------------------------------------------------------------ inputs

    def start(self, at: float) -> None:
        """Begin a new run: record its plan and make its first tasks ready."""
        ledger = self.ledger
        ledger.at = at
        plan = self.plan
        ledger.emit(
            RunStarted(
                run_id=ledger.run_id,
                seq=ledger.next_seq(),
                at=at,
                pipeline=plan.pipeline,
                params=plan.params,
                tasks=tuple(
                    PlannedTask(
                        key=n.key, name=n.spec.name, mapped=n.mapped is not None, items=n.size
                    )
                    for n in plan.nodes.values()
                ),
                executor=self.executor,
                failure_policy=plan.failure_policy.value,
                caching=plan.caching,
                output=describe_output(plan.output),
            )
        )
        ledger.run_state(RunState.RUNNING)
        for entry in self.table.roots():
            self.flow.inputs_ready(entry)

    def resume(
        self,
        record: RunRecord,
        values: Mapping[str, Value],
        at: float,
        damaged: Mapping[str, str] | None = None,
    ) -> None:
        """Continue ``record``: ``values`` are the readable stored outputs of its succeeded
        planned tasks (see :func:`legato.engine.stored.recorded_values`), ``damaged`` those
        of them (and of map items) whose stored output cannot be used, with why: they run
        again (:func:`legato.engine.stored.damaged_outputs`)."""
        ledger = self.ledger
        ledger.at = at
        if record.state is RunState.ROLLING_BACK or saga.unfinished(record):
            # It failed and its rollback did not finish: finish that, and nothing else.
            ledger.run = record
            ledger.seq = record.last_seq
            ledger.run_state(RunState.ROLLING_BACK, "resumed")
            self.rollback.recorded = values
            self.table.open.clear()
            return
        restore(self.flow, record, values, damaged or {})

    def step(self, at: float) -> None:
        """Start what may start: ask the cache about newly ready tasks first while those
        answered run short (a :class:`LookUp`, answered with :meth:`on_verdicts`), then
        admit ready tasks that fit the free resources, and ask about more if a slot is still
        idle. Ends the run when nothing is left to do."""
        ledger = self.ledger
        ledger.at = at
        dispatcher = self.dispatcher
        # Once a cancel has stopped everything, only a finally_() block's tasks are left
        # to start.
        if not self.cancel_requested or self.flow.stopped_everything:
            if self.lookups.waiting:
                return  # the driver has not answered yet
            if self.lookups.running_short():
                self.lookups.ask()
                return
            for entry in dispatcher.admit():
                self._start(entry)
            for entry in dispatcher.to_claim_ahead():
                if self._claim(entry):
                    dispatcher.claimed.append(entry)
            for entry in dispatcher.to_queue_ahead():
                self._start(entry, queued=True)
            if self.lookups.left_idle():
                self.lookups.ask()
                return
        if not self.table.open and not dispatcher.calls and not self.rollback.active:
            self._finish()

    def on_verdicts(self, answers: Sequence[CacheAnswer], at: float) -> None:
        """The cache's answers to the last :class:`LookUp`, in its order: hits settle
        without running, misses wait for resources."""
        self.ledger.at = at
        self.lookups.answer(answers)

    def on_outcome(self, outcome: TaskOutcome, at: float) -> None:
        """A call ended (or stopped)."""
        self.ledger.at = at
        if self.rollback.owns(outcome.call_id):
            self.rollback.on_outcome(outcome)
            return
        call = self.dispatcher.settle(outcome.call_id)
        if call is None or call.stopping:
            return  # a duplicate, or the late report of a call already written off
        entry = call.entry
        flow = self.flow
        ran_for = outcome.ended_at - outcome.started_at if outcome.ended_at else None
        if ran_for is not None:
            self.dispatcher.ran(entry, ran_for)
        kind = outcome.kind
        if kind is OutcomeKind.SUCCEEDED:
            # Kept before the transition so that dependents it makes ready can bind it.
            assert outcome.output is not None
            self.inputs.keep(entry.key, outcome.output, outcome.length, outcome.item_lengths)
            decided = flow.transition(
                entry,
                TaskState.SUCCEEDED,
                call.attempt,
                reason=entry.cache_reason,
                ran_for=ran_for,
                output=_output_ref(outcome.output),
            )
            if decided is None or decided.to is not TaskState.SUCCEEDED:
                self.inputs.drop(entry.key)
            self._retry_later(entry, decided)
            return
        if kind is OutcomeKind.STOPPED and self.cancel_requested:
            # Stopped by the run's own cancel before the scheduler asked (Ctrl-C inside an
            # inline task): the attempt was cancelled, it did not fail.
            reason = self.cancel_reason or "run cancelled"
            error = ErrorInfo.of(ErrorKind.CANCELLED, reason)
            flow.transition(
                entry,
                TaskState.CANCELLED,
                call.attempt,
                reason=reason,
                error=error,
                ran_for=ran_for,
            )
            return
        if kind is OutcomeKind.STOPPED:
            error = ErrorInfo.of(ErrorKind.CANCELLED, "stopped by the executor")
        elif kind is OutcomeKind.CRASHED:
            error = outcome.error or ErrorInfo.of(ErrorKind.CRASH, "the worker died")
        else:
            error = outcome.error or ErrorInfo.of(ErrorKind.INTERNAL, "failed without an error")
        decided = flow.transition(
            entry,
            TaskState.FAILED,
            call.attempt,
            reason=error.summary(),
            error=error,
            ran_for=ran_for,
        )
        self._retry_later(entry, decided)

    def on_timer(self, timer: RetryDue | Deadline, at: float) -> None:
        """A timer the scheduler asked for (a retry's wait) or the driver armed (a call's
        deadline) is due."""
        self.ledger.at = at
        if isinstance(timer, RetryDue):
            entry = self.table[timer.key]
            if self.run.tasks[entry.key].state is not TaskState.RETRY_WAIT:
                return
            decided = self.flow.transition(entry, TaskState.READY, timer.attempt)
            if decided is not None and decided.to is TaskState.READY:
                self.dispatcher.ready.append(entry)
        elif self.rollback.owns(timer.call_id):
            self.rollback.on_deadline()
        else:
            self._deadline(timer)

    def cancel(self, reason: str, at: float) -> None:
        """Cancel the run: running tasks are stopped, nothing new starts; a rollback in
        progress stops too (a resume finishes it). The first reason given is kept."""
        if not self.cancel_requested:
            self.cancel_reason = reason
        self.cancel_requested = True
        self.ledger.at = at
        if self.done:
            return
        if self.rollback.active:
            self.rollback.cancel(self.cancel_reason or "cancelled")
        elif not self.flow.stopped_everything and self.run.state is RunState.RUNNING:
            self.ledger.run_state(RunState.CANCELLING, self.cancel_reason)
            self.ledger.ctx.cancelling = True
            self.flow.stop(self.cancel_reason or "run cancelled")

    def force_stop(self, reason: str, at: float) -> None:
        """End the run now (a second Ctrl-C): everything open is cancelled without waiting
        for running calls to confirm they stopped."""
        self.cancel(reason, at)
        self.flow.stop_finals(reason or "run cancelled")
        self.dispatcher.forget_calls()
        self._finish()

    # ------------------------------------------------------------------ internals

    def _claim(self, entry: TaskEntry) -> bool:
        """Record that ``entry``'s current attempt is taken (its ``running`` event)."""
        attempt = self.flow.attempt(entry)
        decided = self.flow.transition(entry, TaskState.RUNNING, attempt, reason=entry.cache_reason)
        if decided is None or decided.to is not TaskState.RUNNING:
            return False
        entry.claim_seq = self.ledger.seq
        if entry.bound is None:
            entry.bound = self.flow.bind(entry)
        return True

    def _start(self, entry: TaskEntry, *, queued: bool = False) -> None:
        if entry.claim_seq is None and not self._claim(entry):
            return
        after = entry.claim_seq
        assert after is not None
        entry.claim_seq = None
        call = self.dispatcher.start(
            entry,
            self.flow.attempt(entry),
            run_id=self.ledger.run_id,
            secrets=self.secrets,
            store_url=self.store_url,
            owner=self.owner,
            queued=queued,
        )
        self.ledger.commands.append(Submit(call, after))

    def _retry_later(self, entry: TaskEntry, decided: Proposal | None) -> None:
        if decided is not None and decided.to is TaskState.RETRY_WAIT:
            delay = decided.retry_delay or 0.0
            self.ledger.commands.append(SetTimer(delay, RetryDue(entry.key, decided.attempt + 1)))

    def _deadline(self, timer: Deadline) -> None:
        call = self.dispatcher.calls.get(timer.call_id)
        if call is None or call.stopping:
            return
        call.stopping = True
        self.ledger.commands.append(Cancel(timer.call_id))
        limit = call.entry.node.spec.options.timeout
        message = f"ran past its timeout of {limit:g}s and was stopped"
        if not self.hard_timeouts:
            message += " (its thread may still be running; use the processes executor to kill)"
        decided = self.flow.transition(
            call.entry,
            TaskState.TIMED_OUT,
            timer.attempt,
            reason=message,
            error=ErrorInfo.of(ErrorKind.TIMEOUT, message, "legato.TimeoutExpired"),
        )
        self._retry_later(call.entry, decided)

    def _finish(self) -> None:
        if self.done:
            return
        ledger = self.ledger
        if self.cancel_requested:
            reason = self.cancel_reason
            if self.run.state is RunState.ROLLING_BACK:
                reason = f"{reason or 'cancelled'} during rollback; {saga.summary(self.run)}"
            ledger.run_state(RunState.CANCELLED, reason)
            return
        tasks = self.run.tasks
        bad = [k for k in self.table.entries if tasks[k].state not in TASK_OK]
        if not bad:
            ledger.run_state(RunState.SUCCEEDED)
            return
        failed = [k for k in bad if tasks[k].state in _FAILED]
        named = failed or bad
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        if not self.rollback.begin(f"failed: {shown}"):
            ledger.run_state(RunState.FAILED, f"failed: {shown}")


def _output_ref(value: Value) -> ArtifactRef | None:
    """The reference a SUCCEEDED event records for an output (None when not stored)."""
    if isinstance(value, Stored):
        return value.ref
    if isinstance(value, StoredItems):
        return value.manifest
    return None
