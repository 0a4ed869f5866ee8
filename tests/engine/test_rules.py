"""The ordered transition rules, one by one and together."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legato import RetryPolicy
from legato.engine import rules
from legato.engine.rules import (
    RULES,
    BranchNotTakenIsSkip,
    CancelStopsRetries,
    Context,
    FenceStaleAttempt,
    FollowTable,
    InvalidTransitionError,
    LateResultIsTimeout,
    NextAttemptIsNew,
    OnlyCacheHitsSkipRunning,
    Proposal,
    ReopenOnlyOnResume,
    RetryFailedAttempt,
    TerminalIsFinal,
    decide,
)
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.records import TaskRecord
from legato.model.specs import TaskOptions
from legato.model.states import REOPEN_TARGETS, TASK_TERMINAL, TASK_TRANSITIONS, TaskState
from legato.model.triggers import BranchNotTaken

S = TaskState
ALL = frozenset(TaskState)


def record(state: TaskState, attempt: int = 1) -> TaskRecord:
    return TaskRecord(key="train", name="train", state=state, attempt=attempt)


def options(**retry: object) -> TaskOptions:
    timeout = retry.pop("timeout", None)
    return TaskOptions(name="train", retry=RetryPolicy(**retry), timeout=timeout)  # type: ignore[arg-type]


def ctx(*, cancelling: bool = False, seed: int = 0) -> Context:
    return Context(rng=random.Random(seed), cancelling=cancelling)


def raised(exc: BaseException) -> ErrorInfo:
    return ErrorInfo.from_exception(exc)


def failed(attempt: int, error: ErrorInfo | None = None) -> Proposal:
    return Proposal(to=S.FAILED, attempt=attempt, error=error or raised(ValueError("bad")))


# --------------------------------------------------------------------------- the list


def test_rules_run_in_the_documented_order_with_their_declared_scopes() -> None:
    assert [type(r) for r in RULES] == [
        ReopenOnlyOnResume,
        FenceStaleAttempt,
        TerminalIsFinal,
        NextAttemptIsNew,
        OnlyCacheHitsSkipRunning,
        CancelStopsRetries,
        LateResultIsTimeout,
        BranchNotTakenIsSkip,
        RetryFailedAttempt,
        FollowTable,
    ]
    scopes = {type(r).__name__: (r.from_states, r.to_states) for r in RULES}
    assert scopes["BranchNotTakenIsSkip"] == (frozenset({S.RUNNING}), frozenset({S.FAILED}))
    assert scopes["FenceStaleAttempt"] == (ALL - {S.RETRY_WAIT}, ALL)
    assert scopes["TerminalIsFinal"] == (TASK_TERMINAL, ALL)
    assert scopes["NextAttemptIsNew"] == ({S.RETRY_WAIT}, ALL)
    assert scopes["CancelStopsRetries"] == ({S.RETRY_WAIT, S.READY}, {S.READY, S.RUNNING})
    assert scopes["LateResultIsTimeout"] == ({S.RUNNING}, {S.SUCCEEDED})
    assert scopes["RetryFailedAttempt"] == ({S.RUNNING}, {S.FAILED, S.TIMED_OUT})
    assert scopes["FollowTable"] == (ALL, ALL)
    assert scopes["ReopenOnlyOnResume"] == (ALL, REOPEN_TARGETS)
    assert scopes["OnlyCacheHitsSkipRunning"] == ({S.READY}, {S.SUCCEEDED})


def test_a_cache_hit_may_skip_running_and_nothing_else_may() -> None:
    hit = Proposal(to=S.SUCCEEDED, attempt=1, cache_hit="run-1")
    assert decide(record(S.READY), hit, options(), ctx()) == hit
    plain = Proposal(to=S.SUCCEEDED, attempt=1)
    assert decide(record(S.READY), plain, options(), ctx()) is None


@pytest.mark.parametrize("state", sorted(ALL - {S.SUCCEEDED}))
def test_only_a_resume_reopens_a_task_as_its_next_attempt(state: TaskState) -> None:
    reopen = Proposal(to=S.PENDING, attempt=2, reopen=True)
    resuming = Context(rng=random.Random(0), resuming=True)
    assert decide(record(state), reopen, options(), resuming) == reopen
    assert decide(record(state), reopen, options(), ctx()) is None  # not resuming
    same_attempt = Proposal(to=S.PENDING, attempt=1, reopen=True)
    assert decide(record(state), same_attempt, options(), resuming) is None


def test_a_succeeded_task_is_never_reopened() -> None:
    reopen = Proposal(to=S.PENDING, attempt=2, reopen=True)
    resuming = Context(rng=random.Random(0), resuming=True)
    assert decide(record(S.SUCCEEDED), reopen, options(), resuming) is None


def test_a_rule_is_consulted_only_within_its_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[TaskState, TaskState]] = []

    class Spy(rules.Rule):
        from_states = frozenset({S.RUNNING})
        to_states = frozenset({S.SUCCEEDED})

        def apply(
            self, record: TaskRecord, proposal: Proposal, options: TaskOptions, ctx: Context
        ) -> Proposal | None:
            seen.append((record.state, proposal.to))
            return proposal

    monkeypatch.setattr(rules, "RULES", (Spy(), *RULES))
    decide(record(S.READY), Proposal(to=S.RUNNING, attempt=1), options(), ctx())
    decide(record(S.RUNNING), failed(1), options(), ctx())
    decide(record(S.RUNNING), Proposal(to=S.SUCCEEDED, attempt=1), options(), ctx())
    assert seen == [(S.RUNNING, S.SUCCEEDED)]


def test_an_ordinary_transition_passes_unchanged() -> None:
    proposal = Proposal(to=S.RUNNING, attempt=1, reason="go")
    assert decide(record(S.READY), proposal, options(), ctx()) == proposal


# --------------------------------------------------------------------------- fencing


@pytest.mark.parametrize(
    ("state", "to"),
    [(S.RUNNING, S.SUCCEEDED), (S.RUNNING, S.FAILED), (S.READY, S.RUNNING), (S.PENDING, S.READY)],
)
def test_a_report_about_another_attempt_is_fenced_off(state: TaskState, to: TaskState) -> None:
    assert decide(record(state, attempt=2), Proposal(to=to, attempt=1), options(), ctx()) is None
    assert decide(record(state, attempt=2), Proposal(to=to, attempt=3), options(), ctx()) is None


@pytest.mark.parametrize("state", sorted(TASK_TERMINAL))
@pytest.mark.parametrize("to", sorted(TaskState))
def test_a_terminal_state_is_final(state: TaskState, to: TaskState) -> None:
    assert decide(record(state), Proposal(to=to, attempt=1), options(), ctx()) is None


def test_leaving_retry_wait_starts_exactly_the_next_attempt() -> None:
    waiting = record(S.RETRY_WAIT, attempt=2)
    ready = Proposal(to=S.READY, attempt=3)
    assert decide(waiting, ready, options(), ctx()) == ready
    for attempt in (1, 2, 4):
        assert decide(waiting, Proposal(to=S.READY, attempt=attempt), options(), ctx()) is None


def test_a_cancel_while_waiting_names_the_attempt_that_failed() -> None:
    waiting = record(S.RETRY_WAIT, attempt=2)
    assert decide(waiting, Proposal(to=S.CANCELLED, attempt=2), options(), ctx()) is not None
    assert decide(waiting, Proposal(to=S.CANCELLED, attempt=3), options(), ctx()) is None


@pytest.mark.parametrize("to", [S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.RUNNING])
def test_a_late_report_while_waiting_for_a_retry_is_ignored(to: TaskState) -> None:
    waiting = record(S.RETRY_WAIT, attempt=1)
    assert decide(waiting, Proposal(to=to, attempt=1), options(), ctx()) is None


# --------------------------------------------------------------------------- retries


def test_a_failure_with_attempts_left_waits_for_a_retry() -> None:
    decided = decide(record(S.RUNNING), failed(1), options(attempts=3, delay=2.0), ctx())
    assert decided is not None
    assert decided.to is S.RETRY_WAIT
    assert decided.attempt == 1
    assert decided.retry_delay is not None
    assert 1.8 <= decided.retry_delay <= 2.2
    assert "attempt 1 of 3 failed (ValueError: bad)" in decided.reason


def test_the_last_attempt_fails_for_good() -> None:
    decided = decide(record(S.RUNNING, attempt=3), failed(3), options(attempts=3), ctx())
    assert decided is not None
    assert decided.to is S.FAILED
    assert decided.retry_delay is None


@settings(max_examples=200, deadline=None)
@given(
    attempts=st.integers(2, 8),
    failed_attempt=st.integers(1, 7),
    delay=st.floats(0, 100),
    backoff=st.floats(1, 4),
    max_delay=st.floats(0, 500),
    jitter=st.floats(0, 0.99),
    seed=st.integers(0, 2**32),
)
def test_retry_delays_follow_backoff_within_jitter(
    *,
    attempts: int,
    failed_attempt: int,
    delay: float,
    backoff: float,
    max_delay: float,
    jitter: float,
    seed: int,
) -> None:
    opts = options(
        attempts=attempts, delay=delay, backoff=backoff, max_delay=max_delay, jitter=jitter
    )
    decided = decide(
        record(S.RUNNING, attempt=failed_attempt), failed(failed_attempt), opts, ctx(seed=seed)
    )
    assert decided is not None
    if failed_attempt >= attempts:
        assert decided.to is S.FAILED
        return
    assert decided.to is S.RETRY_WAIT
    base = min(max_delay, delay * backoff ** (failed_attempt - 1))
    assert decided.retry_delay is not None
    assert base * (1 - jitter) - 1e-9 <= decided.retry_delay <= base * (1 + jitter) + 1e-9


def test_without_jitter_delays_double_then_hit_the_cap() -> None:
    opts = options(attempts=10, delay=1.0, backoff=2.0, max_delay=5.0, jitter=0.0)
    delays = []
    for attempt in range(1, 6):
        decided = decide(record(S.RUNNING, attempt=attempt), failed(attempt), opts, ctx())
        assert decided is not None
        delays.append(decided.retry_delay)
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_an_error_the_policy_does_not_name_is_not_retried() -> None:
    opts = options(attempts=3, retry_on=(KeyError,))
    decided = decide(record(S.RUNNING), failed(1, raised(ValueError("no"))), opts, ctx())
    assert decided is not None
    assert decided.to is S.FAILED


def test_subclasses_of_a_named_error_are_retried() -> None:
    opts = options(attempts=3, retry_on=LookupError)
    decided = decide(record(S.RUNNING), failed(1, raised(KeyError("k"))), opts, ctx())
    assert decided is not None
    assert decided.to is S.RETRY_WAIT


def test_a_crash_is_retried_whatever_the_policy_names() -> None:
    opts = options(attempts=2, retry_on=(KeyError,))
    crash = ErrorInfo.of(ErrorKind.CRASH, "worker died")
    decided = decide(record(S.RUNNING), failed(1, crash), opts, ctx())
    assert decided is not None
    assert decided.to is S.RETRY_WAIT


@pytest.mark.parametrize(
    "kind", [ErrorKind.INPUT, ErrorKind.OUTPUT, ErrorKind.CANCELLED, ErrorKind.INTERNAL]
)
def test_errors_that_would_repeat_are_not_retried(kind: ErrorKind) -> None:
    decided = decide(
        record(S.RUNNING), failed(1, ErrorInfo.of(kind, "again")), options(attempts=5), ctx()
    )
    assert decided is not None
    assert decided.to is S.FAILED


def test_a_failure_without_an_error_is_not_retried() -> None:
    proposal = Proposal(to=S.FAILED, attempt=1)
    decided = decide(record(S.RUNNING), proposal, options(attempts=5), ctx())
    assert decided == proposal


@pytest.mark.parametrize(
    ("retry_on_timeout", "expected"), [(True, S.RETRY_WAIT), (False, S.TIMED_OUT)]
)
def test_timeouts_are_retried_when_the_policy_says_so(
    retry_on_timeout: bool, expected: TaskState
) -> None:
    timeout = ErrorInfo.of(ErrorKind.TIMEOUT, "too slow")
    proposal = Proposal(to=S.TIMED_OUT, attempt=1, error=timeout)
    opts = options(attempts=2, retry_on_timeout=retry_on_timeout)
    decided = decide(record(S.RUNNING), proposal, opts, ctx())
    assert decided is not None
    assert decided.to is expected


# --------------------------------------------------------------------------- late results


def test_a_result_after_the_timeout_is_a_timeout() -> None:
    proposal = Proposal(to=S.SUCCEEDED, attempt=1, ran_for=2.5)
    decided = decide(record(S.RUNNING), proposal, options(timeout=1.0), ctx())
    assert decided is not None
    assert decided.to is S.TIMED_OUT
    assert decided.error is not None
    assert decided.error.kind is ErrorKind.TIMEOUT
    assert "past its timeout of 1s" in decided.reason


def test_a_late_result_with_attempts_left_is_retried() -> None:
    proposal = Proposal(to=S.SUCCEEDED, attempt=1, ran_for=2.5)
    decided = decide(record(S.RUNNING), proposal, options(timeout=1.0, attempts=2), ctx())
    assert decided is not None
    assert decided.to is S.RETRY_WAIT


@pytest.mark.parametrize("ran_for", [None, 0.5, 1.0])
def test_a_result_within_the_timeout_succeeds(ran_for: float | None) -> None:
    proposal = Proposal(to=S.SUCCEEDED, attempt=1, ran_for=ran_for)
    assert decide(record(S.RUNNING), proposal, options(timeout=1.0), ctx()) == proposal


def test_without_a_timeout_a_slow_result_succeeds() -> None:
    proposal = Proposal(to=S.SUCCEEDED, attempt=1, ran_for=1e6)
    assert decide(record(S.RUNNING), proposal, options(), ctx()) == proposal


# --------------------------------------------------------------------------- cancel


def test_a_cancel_stops_a_due_retry() -> None:
    waiting = record(S.RETRY_WAIT, attempt=1)
    decided = decide(waiting, Proposal(to=S.READY, attempt=2), options(), ctx(cancelling=True))
    assert decided is not None
    assert decided.to is S.CANCELLED
    assert decided.attempt == 1  # the attempt that failed: attempt 2 never began


def test_a_cancel_stops_a_ready_task_from_starting() -> None:
    decided = decide(
        record(S.READY), Proposal(to=S.RUNNING, attempt=1), options(), ctx(cancelling=True)
    )
    assert decided is not None
    assert decided.to is S.CANCELLED


def test_a_cancel_stops_retrying_a_failure() -> None:
    decided = decide(record(S.RUNNING), failed(1), options(attempts=3), ctx(cancelling=True))
    assert decided is not None
    assert decided.to is S.FAILED


# --------------------------------------------------------------------------- the table


def _fenced(state: TaskState, to: TaskState) -> bool:
    """Rejected quietly before the table is consulted."""
    if state in TASK_TERMINAL:
        return True
    if state is S.READY and to is S.SUCCEEDED:
        return True  # only a cache hit may skip running
    return state is S.RETRY_WAIT and to not in (S.READY, S.CANCELLED)


@pytest.mark.parametrize("state", sorted(ALL - TASK_TERMINAL))
@pytest.mark.parametrize("to", sorted(TaskState))
def test_a_transition_outside_the_table_is_a_bug(state: TaskState, to: TaskState) -> None:
    attempt = 2 if state is S.RETRY_WAIT and to is S.READY else 1
    proposal = Proposal(to=to, attempt=attempt)
    if _fenced(state, to):
        assert decide(record(state), proposal, options(), ctx()) is None
    elif to in TASK_TRANSITIONS[state]:
        decided = decide(record(state), proposal, options(), ctx())
        assert decided is not None
        assert decided.to in TASK_TRANSITIONS[state]
    else:
        with pytest.raises(InvalidTransitionError, match=f"{state} -> {to}"):
            decide(record(state), proposal, options(), ctx())


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from(sorted(TaskState)),
    attempt=st.integers(1, 4),
    # The loop never proposes RETRY_WAIT itself: only RetryFailedAttempt turns to it.
    to=st.sampled_from(sorted(set(TaskState) - {S.RETRY_WAIT})),
    proposed_attempt=st.integers(1, 5),
    cancelling=st.booleans(),
    timeout=st.sampled_from([None, 1.0]),
    ran_for=st.sampled_from([None, 0.5, 2.0]),
    attempts=st.integers(1, 4),
    kind=st.sampled_from(sorted(ErrorKind)),
)
def test_whatever_is_proposed_the_outcome_is_in_the_table(
    *,
    state: TaskState,
    attempt: int,
    to: TaskState,
    proposed_attempt: int,
    cancelling: bool,
    timeout: float | None,
    ran_for: float | None,
    attempts: int,
    kind: ErrorKind,
) -> None:
    proposal = Proposal(
        to=to, attempt=proposed_attempt, ran_for=ran_for, error=ErrorInfo.of(kind, "x")
    )
    opts = options(attempts=attempts, timeout=timeout)
    try:
        decided = decide(record(state, attempt), proposal, opts, ctx(cancelling=cancelling))
    except InvalidTransitionError:
        assert to not in TASK_TRANSITIONS[state]
        return
    if decided is None:
        return
    assert decided.to in TASK_TRANSITIONS[state]
    # Only a retry becoming ready begins a new attempt; everything else is about this one.
    new_attempt = state is S.RETRY_WAIT and decided.to is S.READY
    assert decided.attempt == attempt + (1 if new_attempt else 0)
    if cancelling:
        # No attempt starts or waits to start again (a pending task may still become
        # ready, or a map group start expanding: their items are then stopped).
        assert decided.to is not S.RETRY_WAIT
        assert decided.to not in (S.READY, S.RUNNING) or state is S.PENDING
    if decided.to is S.RETRY_WAIT:
        assert attempt < attempts
        assert decided.retry_delay is not None


# --------------------------------------------------------------------------- branches


def test_a_branch_not_taken_is_skipped_never_failed_or_retried() -> None:
    not_taken = failed(1, raised(BranchNotTaken("the condition was False")))
    got = decide(record(S.RUNNING), not_taken, options(attempts=3), ctx())
    assert got is not None
    assert got.to is S.SKIPPED
    assert got.error is None
    assert got.reason == "branch not taken: the condition was False"
    # any other error still fails (and retries) as before
    other = decide(record(S.RUNNING), failed(1), options(attempts=3), ctx())
    assert other is not None
    assert other.to is S.RETRY_WAIT


def test_a_finally_task_still_starts_while_the_run_is_cancelling() -> None:
    running = Proposal(to=S.RUNNING, attempt=1)
    stopping = Context(rng=random.Random(0), cancelling=True, finals=frozenset({"train"}))
    got = decide(record(S.READY), running, options(), stopping)
    assert got is not None
    assert got.to is S.RUNNING
    other = decide(record(S.READY), running, options(), ctx(cancelling=True))
    assert other is not None
    assert other.to is S.CANCELLED
