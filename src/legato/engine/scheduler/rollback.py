"""Undoing a failed run: its compensations, one at a time, as a state machine.

Which tasks are undone and in which order is :mod:`legato.engine.saga`'s (pure) answer. Here
each compensation is ``started`` (an event), its handler submitted (a command the driver
carries out only once that event is committed, so a crash from then on runs the handler
again at most once more, never skips it), and ``succeeded`` or ``failed`` when its outcome,
its deadline or a cancel arrives. Handlers run through the same executor, timers and
commands as tasks: the scheduler never blocks waiting for one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from legato.config import SecretRefs
from legato.engine import saga
from legato.engine.plan import Plan
from legato.engine.scheduler.commands import Cancel, Submit
from legato.engine.scheduler.ledger import Ledger
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import RollbackPlanned, RollbackTransitioned
from legato.model.rollback import RollbackState
from legato.model.states import RunState
from legato.model.values import Stored, Value

__all__ = ["Rollback"]


class Rollback:
    """The compensations of one failed run."""

    __slots__ = (
        "_new_call_id",
        "_outputs",
        "_queue",
        "_reason",
        "active",
        "call",
        "ledger",
        "plan",
        "recorded",
        "secrets",
    )

    def __init__(
        self,
        *,
        ledger: Ledger,
        plan: Plan,
        outputs: Callable[[str], Value | None],
        new_call_id: Callable[[], int],
        secrets: SecretRefs | None,
    ) -> None:
        self.ledger = ledger
        self.plan = plan
        self.secrets = secrets
        self.recorded: Mapping[str, Value] = {}
        """Stored outputs of planned tasks read back by a resume (the run's own outputs
        are what ``outputs`` gives, by key)."""
        self.active = False
        self.call: TaskCall | None = None
        """The handler in flight."""
        self._outputs = outputs
        self._new_call_id = new_call_id
        self._queue: deque[str] = deque()
        self._reason = ""

    def owns(self, call_id: int) -> bool:
        """Whether ``call_id`` is the handler in flight."""
        return self.call is not None and self.call.call_id == call_id

    def begin(self, reason: str) -> bool:
        """Start undoing the run (or finish the rollback a resumed run recorded); False when
        there is nothing to undo."""
        ledger = self.ledger
        run = ledger.run
        if run.state is RunState.ROLLING_BACK:
            reason = run.rollback_reason or reason
        else:
            keys = saga.to_compensate(run, self.plan)
            if not keys:
                return False
            ledger.run_state(RunState.ROLLING_BACK, reason)
            ledger.emit(
                RollbackPlanned(
                    run_id=ledger.run_id,
                    seq=ledger.next_seq(),
                    at=ledger.at,
                    keys=keys,
                    reason=reason,
                )
            )
        self.active = True
        self._reason = reason
        self._queue = deque(saga.unfinished(run))
        self._next()
        return True

    def on_outcome(self, outcome: TaskOutcome) -> None:
        """The handler in flight ended."""
        call = self.call
        assert call is not None
        ran_for = outcome.ended_at - outcome.started_at if outcome.ended_at else None
        if outcome.kind is OutcomeKind.SUCCEEDED:
            self._record(call.key, RollbackState.SUCCEEDED, ran_for=ran_for)
        else:
            error = outcome.error or ErrorInfo.of(ErrorKind.CRASH, f"it ended {outcome.kind}")
            self._record(call.key, RollbackState.FAILED, error=error, ran_for=ran_for)
        self._next()

    def on_deadline(self) -> None:
        """The handler in flight ran for its task's whole timeout: stop it, go on."""
        call = self.call
        assert call is not None
        self.ledger.commands.append(Cancel(call.call_id))
        message = f"ran past its timeout of {call.timeout:g}s and was stopped"
        error = ErrorInfo.of(ErrorKind.TIMEOUT, message, "legato.TimeoutExpired")
        self._record(call.key, RollbackState.FAILED, error=error)
        self._next()

    def cancel(self, reason: str) -> None:
        """Stop the rollback: the handler in flight is stopped, the rest is left for a resume."""
        call = self.call
        if call is not None:
            self.ledger.commands.append(Cancel(call.call_id))
            self._record(
                call.key, RollbackState.FAILED, error=ErrorInfo.of(ErrorKind.CANCELLED, reason)
            )
        self._queue.clear()
        self.active = False
        self.ledger.run_state(
            RunState.CANCELLED, f"{reason} during rollback; {saga.summary(self.ledger.run)}"
        )

    def _next(self) -> None:
        """Start the next compensation, or end the run when none is left."""
        ledger = self.ledger
        run = ledger.run
        while self._queue:
            key = self._queue.popleft()
            attempt = run.rollbacks[key].attempt + 1
            self._event(key, RollbackState.STARTED, attempt)
            value = self._value(key)
            if value is None:
                missing = ErrorInfo.of(
                    ErrorKind.INPUT, "its output was not stored: nothing to undo"
                )
                self._event(key, RollbackState.FAILED, attempt, error=missing)
                continue
            record = run.tasks[key]
            self.call = saga.handler_call(
                call_id=self._new_call_id(),
                run=run,
                key=key,
                node=self.plan.nodes[record.parent or key],
                value=value,
                attempt=attempt,
                secrets=self.secrets,
            )
            ledger.commands.append(Submit(self.call, ledger.seq))
            return
        self.active = False
        ledger.run_state(RunState.FAILED, f"{self._reason}; {saga.summary(run)}")

    def _value(self, key: str) -> Value | None:
        value = self._outputs(key)
        if value is None:
            value = self.recorded.get(key)
        if value is None:
            record = self.ledger.run.tasks[key]
            if record.parent is not None and record.output is not None:
                value = Stored(record.output)
        return value

    def _record(
        self,
        key: str,
        state: RollbackState,
        *,
        error: ErrorInfo | None = None,
        ran_for: float | None = None,
    ) -> None:
        self.call = None
        attempt = self.ledger.run.rollbacks[key].attempt
        self._event(key, state, attempt, error=error, ran_for=ran_for)

    def _event(
        self,
        key: str,
        state: RollbackState,
        attempt: int,
        *,
        error: ErrorInfo | None = None,
        ran_for: float | None = None,
    ) -> None:
        ledger = self.ledger
        ledger.emit(
            RollbackTransitioned(
                run_id=ledger.run_id,
                seq=ledger.next_seq(),
                at=ledger.at,
                key=key,
                state=state,
                attempt=attempt,
                reason=error.summary() if error else "",
                error=error,
                ran_for=ran_for,
            )
        )
