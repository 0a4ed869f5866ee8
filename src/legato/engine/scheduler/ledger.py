"""The run as the scheduler knows it, and what it has decided since the driver last looked.

Every transition passes the rules (:func:`legato.engine.rules.decide`) and becomes an event
that is applied to the run record at once (:func:`legato.engine.reducer.apply`) and kept
for the driver, which commits the events and only then lets listeners see them. Commands
wait beside the events in the order they were decided.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from legato.engine import reducer
from legato.engine.rules import Context, InvalidTransitionError, Proposal, decide
from legato.engine.scheduler.commands import Command
from legato.engine.task_records import TaskRecords
from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import Event, RunTransitioned, TaskTransitioned
from legato.model.records import RunRecord
from legato.model.specs import TaskOptions
from legato.model.states import RUN_TRANSITIONS, RunState, TaskState
from legato.model.tracking import Tracked

__all__ = ["Ledger"]

_WRITTEN_OFF = frozenset({TaskState.TIMED_OUT, TaskState.CANCELLED})


class Ledger:
    """The run record of one run, its next sequence number, and the events and commands
    decided but not yet taken by the driver."""

    __slots__ = ("at", "commands", "ctx", "events", "run", "seq")

    def __init__(self, run_id: str, seed: int | None = None) -> None:
        self.run = RunRecord(run_id=run_id, tasks=TaskRecords())
        self.ctx = Context(rng=random.Random(seed))
        self.seq = 0
        self.at = 0.0
        """Wall-clock time of the input being handled: every event it causes carries it."""
        self.events: list[Event] = []
        self.commands: list[Command] = []

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def emit(self, event: Event) -> None:
        """Apply ``event`` to the run record and keep it for the driver."""
        reducer.apply(self.run, event)
        self.events.append(event)

    def transition(
        self,
        key: str,
        options: TaskOptions,
        to: TaskState,
        attempt: int,
        *,
        reason: str = "",
        error: ErrorInfo | None = None,
        ran_for: float | None = None,
        output: ArtifactRef | None = None,
        cache_hit: str | None = None,
        cache_key: str | None = None,
        cache_parts: Mapping[str, str] | None = None,
        reopen: bool = False,
    ) -> Proposal | None:
        """Propose a transition of task ``key``; emit and return what the rules decided
        (None: rejected, nothing emitted)."""
        decided = decide(
            self.run.tasks[key],
            Proposal(
                to=to,
                attempt=attempt,
                reason=reason,
                error=error,
                ran_for=ran_for,
                cache_hit=cache_hit,
                reopen=reopen,
            ),
            options,
            self.ctx,
        )
        if decided is None:
            return None
        succeeded = decided.to is TaskState.SUCCEEDED
        at = self.at
        self.emit(
            TaskTransitioned(
                run_id=self.run.run_id,
                seq=self.next_seq(),
                at=at,
                key=key,
                state=decided.to,
                attempt=decided.attempt,
                reason=decided.reason,
                error=decided.error,
                retry_at=None if decided.retry_delay is None else at + decided.retry_delay,
                ran_for=decided.ran_for,
                output=output if succeeded else None,
                cache_key=cache_key if succeeded else None,
                cache_hit=decided.cache_hit if succeeded else None,
                cache_parts=cache_parts if succeeded else None,
            )
        )
        return decided

    def run_state(self, state: RunState, reason: str = "") -> None:
        """Move the run itself to ``state`` (a move outside the table is a bug)."""
        if state not in RUN_TRANSITIONS[self.run.state]:
            raise InvalidTransitionError(f"run {self.run.run_id}: {self.run.state} -> {state}")
        self.emit(
            RunTransitioned(
                run_id=self.run.run_id,
                seq=self.next_seq(),
                at=self.at,
                state=state,
                reason=reason,
            )
        )

    def may_track(self, record: Tracked) -> bool:
        """Whether ``record`` comes from its task's current attempt, one not written off
        (timed out or cancelled): a stale attempt's values are fenced like its states."""
        task = self.run.tasks.get(record.key)
        if task is None or task.attempt != record.attempt:
            return False
        if task.state in _WRITTEN_OFF:
            return False
        return not (
            task.state is TaskState.RETRY_WAIT
            and task.error is not None
            and task.error.kind in (ErrorKind.TIMEOUT, ErrorKind.CANCELLED)
        )

    def take(self) -> tuple[list[Event], list[Command]]:
        """The events and commands decided since the last call, in order."""
        events, commands = self.events, self.commands
        if events:
            self.events = []
        if commands:
            self.commands = []
        return events, commands
