"""The ordered rules every task transition passes through.

The scheduler *proposes* a transition (``RUNNING -> FAILED`` because an attempt raised); the rules,
in order, may reject it (a stale attempt), change it (``FAILED`` becomes ``RETRY_WAIT`` while
attempts remain) or let it through. Each rule declares the from- and to-states it looks at.
No transition bypasses them; the last rule checks the transition table and treats a violation
as a bug.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.records import TaskRecord
from legato.model.skips import BRANCH_REASON
from legato.model.specs import RetryPolicy, TaskOptions
from legato.model.states import REOPEN_TARGETS, TASK_TERMINAL, TASK_TRANSITIONS, TaskState
from legato.model.triggers import BRANCH_NOT_TAKEN

__all__ = [
    "RULES",
    "Context",
    "InvalidTransitionError",
    "Proposal",
    "Rule",
    "decide",
]

_ALL = frozenset(TaskState)


class InvalidTransitionError(RuntimeError):
    """A transition outside the table was proposed: a bug in legato, never user error."""


class Proposal(NamedTuple):
    """A transition the scheduler asks for, possibly rewritten by rules (``_replace``).

    A ``NamedTuple`` rather than a frozen dataclass: just as immutable, and several times
    cheaper to make; every transition of every task makes one.
    """

    to: TaskState
    attempt: int
    reason: str = ""
    error: ErrorInfo | None = None
    ran_for: float | None = None
    retry_delay: float | None = None
    cache_hit: str | None = None
    """The run whose stored result a READY task reuses instead of running."""
    reopen: bool = False
    """A resume starting a new attempt of a task that did not succeed (or whose stored
    output it found damaged)."""


@dataclass(slots=True, kw_only=True)
class Context:
    """What rules may consult besides the task record."""

    rng: random.Random
    cancelling: bool = False
    """The run is being cancelled: nothing new starts or retries."""
    resuming: bool = False
    """The run is being resumed: tasks that did not succeed may be reopened."""
    damaged: frozenset[str] = frozenset()
    """While resuming: succeeded tasks whose stored output is damaged, to be run again."""
    finals: frozenset[str] = frozenset()
    """Tasks in a ``finally_()`` block: they still start while the run is cancelling."""


class Rule:
    """One named rule. ``apply`` returns the proposal (changed or not), or None to reject."""

    from_states: ClassVar[frozenset[TaskState]] = _ALL
    to_states: ClassVar[frozenset[TaskState]] = _ALL

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        raise NotImplementedError


class ReopenOnlyOnResume(Rule):
    """A resume may start a new attempt (the next number) of a task that did not succeed, or
    that succeeded but whose stored output it found damaged; nothing else reopens a task."""

    to_states = REOPEN_TARGETS

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        if not proposal.reopen:
            return proposal
        if (
            not ctx.resuming
            or (record.state is TaskState.SUCCEEDED and record.key not in ctx.damaged)
            or proposal.attempt != record.attempt + 1
        ):
            return None
        return proposal


class FenceStaleAttempt(Rule):
    """A report about an attempt other than the current one is ignored (a late result of a
    timed-out thread, a duplicate delivery)."""

    from_states = _ALL - {TaskState.RETRY_WAIT}

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        if proposal.reopen:
            return proposal  # checked by ReopenOnlyOnResume
        return proposal if proposal.attempt == record.attempt else None


class TerminalIsFinal(Rule):
    """Nothing leaves a terminal state within an attempt (only a resume's new attempt)."""

    from_states = TASK_TERMINAL

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        return proposal if proposal.reopen else None


class NextAttemptIsNew(Rule):
    """Leaving RETRY_WAIT for READY starts the next attempt, which the proposal must name;
    a cancel names the attempt that failed; any other report is about a finished attempt."""

    from_states = frozenset({TaskState.RETRY_WAIT})

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        if proposal.reopen:
            return proposal  # checked by ReopenOnlyOnResume
        if proposal.to is TaskState.READY:
            return proposal if proposal.attempt == record.attempt + 1 else None
        if proposal.to is TaskState.CANCELLED:
            return proposal if proposal.attempt == record.attempt else None
        return None


class OnlyCacheHitsSkipRunning(Rule):
    """A task may succeed without running only by reusing a stored result."""

    from_states = frozenset({TaskState.READY})
    to_states = frozenset({TaskState.SUCCEEDED})

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        if proposal.cache_hit is None or ctx.cancelling:
            return None
        return proposal


class CancelStopsRetries(Rule):
    """While the run is cancelling, a waiting retry is cancelled instead of started (but
    for the tasks of a ``finally_()`` block, which run on cancellation too)."""

    from_states = frozenset({TaskState.RETRY_WAIT, TaskState.READY})
    to_states = frozenset({TaskState.READY, TaskState.RUNNING})

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        if not ctx.cancelling or record.key in ctx.finals:
            return proposal
        # A cancel names the attempt on record: the next attempt of a waiting retry never
        # began (see NextAttemptIsNew).
        return proposal._replace(
            to=TaskState.CANCELLED,
            attempt=record.attempt,
            reason="run cancelled",
            error=ErrorInfo.of(ErrorKind.CANCELLED, "run cancelled"),
        )


class LateResultIsTimeout(Rule):
    """A result that arrives after the attempt's timeout (soft timeouts of the inline
    executor) counts as a timeout."""

    from_states = frozenset({TaskState.RUNNING})
    to_states = frozenset({TaskState.SUCCEEDED})

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        limit = options.timeout
        if limit is None or proposal.ran_for is None or proposal.ran_for <= limit:
            return proposal
        message = f"ran {proposal.ran_for:.3g}s, past its timeout of {limit:g}s"
        return proposal._replace(
            to=TaskState.TIMED_OUT,
            reason=message,
            error=ErrorInfo.of(ErrorKind.TIMEOUT, message, "legato.TimeoutExpired"),
        )


class BranchNotTakenIsSkip(Rule):
    """The task deciding a ``legato.when`` branch signals a branch not taken by raising
    ``BranchNotTaken`` (so the decision comes back from any executor without an output to
    load): that attempt ends ``skipped``, never failed or retried, and the skip is committed
    as the decision."""

    from_states = frozenset({TaskState.RUNNING})
    to_states = frozenset({TaskState.FAILED})

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        error = proposal.error
        if error is None or error.type_name != BRANCH_NOT_TAKEN:
            return proposal
        return proposal._replace(
            to=TaskState.SKIPPED, reason=BRANCH_REASON + error.message, error=None
        )


class RetryFailedAttempt(Rule):
    """A failed or timed-out attempt is retried while attempts remain and its error is one the
    retry policy covers; the delay follows the policy's backoff and jitter."""

    from_states = frozenset({TaskState.RUNNING})
    to_states = frozenset({TaskState.FAILED, TaskState.TIMED_OUT})

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        retry = options.retry
        if ctx.cancelling or record.attempt >= retry.attempts:
            return proposal
        error = proposal.error
        if error is None or not _retryable(error, retry):
            return proposal
        delay = retry.delay_before(record.attempt + 1, ctx.rng)
        return proposal._replace(
            to=TaskState.RETRY_WAIT,
            retry_delay=delay,
            reason=f"attempt {record.attempt} of {retry.attempts} failed "
            f"({error.summary()}); retrying in {delay:.2f}s",
        )


_NEVER_RETRIED = frozenset({"legato.errors.SecretValueError"})
"""Errors the same code raises again on every attempt: legato refused to record a secret."""


def _retryable(error: ErrorInfo, retry: RetryPolicy) -> bool:
    if error.kind is ErrorKind.TIMEOUT:
        return retry.retry_on_timeout
    if error.kind in (ErrorKind.CRASH, ErrorKind.STORAGE):
        return True
    if error.kind is ErrorKind.RAISED:
        return error.is_instance(retry.retry_on_names) and not error.is_instance(_NEVER_RETRIED)
    return False  # bad inputs, unpicklable outputs and cancellations fail the same way again


class FollowTable(Rule):
    """Last: the transition must be in the table; anything else is a bug in legato."""

    def apply(
        self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
    ) -> Proposal | None:
        if proposal.reopen and proposal.to in REOPEN_TARGETS:
            return proposal
        if proposal.to not in TASK_TRANSITIONS[record.state]:
            raise InvalidTransitionError(
                f"task {record.key!r}: {record.state} -> {proposal.to} is not a transition"
            )
        return proposal


RULES: tuple[Rule, ...] = (
    ReopenOnlyOnResume(),
    FenceStaleAttempt(),
    TerminalIsFinal(),
    NextAttemptIsNew(),
    OnlyCacheHitsSkipRunning(),
    CancelStopsRetries(),
    LateResultIsTimeout(),
    BranchNotTakenIsSkip(),
    RetryFailedAttempt(),
    FollowTable(),
)


_Moves = dict[tuple[TaskState, TaskState], tuple[tuple[int, Rule], ...]]


def _by_move(rules: tuple[Rule, ...]) -> _Moves:
    """For each (from, to) pair, the rules that look at it, in order (with their places in
    the list): read off the rules' own declarations, so that a transition asks only the two
    or three rules that apply rather than testing all ten."""
    return {
        (state, to): tuple(
            (i, rule)
            for i, rule in enumerate(rules)
            if state in rule.from_states and to in rule.to_states
        )
        for state in TaskState
        for to in TaskState
    }


_MOVES: tuple[tuple[Rule, ...], _Moves] = (RULES, _by_move(RULES))
""":func:`_by_move` of :data:`RULES`, and the tuple it was read from (made again if the list
is ever replaced, so the list stays the one definition)."""


def decide(
    record: TaskRecord,
    proposal: Proposal,
    options: TaskOptions,
    ctx: Context,
) -> Proposal | None:
    """Pass ``proposal`` through :data:`RULES`; the accepted transition, or None.

    A rule that changes the target state changes which of the later rules apply: they are
    looked up again for the new (from, to) pair, from the next place in the list on."""
    global _MOVES
    built_from, moves = _MOVES
    if built_from is not RULES:
        _MOVES = built_from, moves = RULES, _by_move(RULES)
    state = record.state
    to = proposal.to
    after = -1
    while True:
        for place, rule in moves[state, to]:
            if place <= after:
                continue
            result = rule.apply(record, proposal, options, ctx)
            if result is None:
                return None
            proposal = result
            if proposal.to is not to:
                to, after = proposal.to, place
                break
        else:
            return proposal
