"""Success, retries, failures and failure policies, on every executor."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ledger_notes import notes
from outcome_tasks import (
    always_fails,
    fails_once_noted,
    flaky,
    one,
    picky,
    plus_one,
    raises_key_error,
    slow,
)
from runchecks import assert_all_terminal, make_executor, states, wait_until_gone

import legato
from legato import RetryPolicy, RunState, TaskState, pipeline

pytestmark = pytest.mark.timeout(30)


@pipeline
def chain() -> int:
    return plus_one(plus_one(one()))


@pipeline
def flaky_run(succeed_on: int = 3) -> str:
    return flaky(succeed_on)


@pipeline
def hopeless() -> int:
    return always_fails()


@pipeline
def picky_run() -> int:
    return picky()


@pipeline
def key_error_run() -> str:
    return raises_key_error(2)


@pipeline
def failed_upstream() -> tuple[int, int]:
    broken = plus_one(always_fails())  # plus_one
    healthy = plus_one(one())  # plus_one_2: an independent branch
    return plus_one(broken), healthy  # plus_one_3 depends on the failure


no_retry_failure = always_fails.with_options(retry=RetryPolicy())


@pipeline
def fail_fast_concurrent() -> tuple[int, float]:
    # The failure waits until the slow task runs, so there is a running task to stop.
    bad = fails_once_noted("slow-start")
    waiting = plus_one(slow(10.0))
    return bad, plus_one(waiting)


@pipeline
def fail_fast_serial() -> tuple[int, float]:
    bad = no_retry_failure()  # first in trace order: the inline executor runs it first
    return bad, plus_one(slow(10.0))


def test_success(executor: str, ledger: Path) -> None:
    result = legato.run(chain, executor=make_executor(executor))

    assert result.state is RunState.SUCCEEDED
    assert result.output == 3
    assert states(result) == {
        "one": TaskState.SUCCEEDED,
        "plus_one": TaskState.SUCCEEDED,
        "plus_one_2": TaskState.SUCCEEDED,
    }
    assert all(t.attempt == 1 and t.error is None for t in result.tasks.values())
    assert notes(ledger) == [["one"], ["plus_one", "1"], ["plus_one", "2"]]


def test_retry_then_success(executor: str, ledger: Path) -> None:
    result = legato.run(flaky_run, {"succeed_on": 3}, executor=make_executor(executor))

    assert result.state is RunState.SUCCEEDED
    assert result.output == "done on attempt 3"
    record = result.tasks["flaky"]
    assert (record.state, record.attempt, record.error) == (TaskState.SUCCEEDED, 3, None)
    assert notes(ledger) == [["flaky", "1"], ["flaky", "2"], ["flaky", "3"]]


def test_retries_exhausted_records_the_last_error(executor: str, ledger: Path) -> None:
    result = legato.run(hopeless, executor=make_executor(executor))

    assert result.state is RunState.FAILED
    record = result.tasks["always_fails"]
    assert record.state is TaskState.FAILED
    assert record.attempt == 3
    assert record.error is not None
    assert record.error.kind == "raised"
    assert record.error.type_name == "builtins.ValueError"
    assert record.error.message == "bad value on attempt 3"
    assert "outcome_tasks.py" in record.error.traceback  # the user's frame, even from a worker
    assert "ValueError: bad value on attempt 3" in record.reason
    assert notes(ledger, "always_fails") == [["always_fails", str(n)] for n in (1, 2, 3)]
    with pytest.raises(legato.RunFailedError, match="bad value on attempt 3"):
        result.raise_for_status()
    with pytest.raises(legato.RunFailedError):
        _ = result.output


def test_retry_on_leaves_other_errors_alone(executor: str, ledger: Path) -> None:
    result = legato.run(picky_run, executor=make_executor(executor))

    record = result.tasks["picky"]
    assert (record.state, record.attempt) == (TaskState.FAILED, 1)
    assert record.error is not None
    assert record.error.type_name == "outcome_tasks.PickyError"
    assert notes(ledger) == [["picky"]]


def test_retry_on_retries_a_matching_error(executor: str, ledger: Path) -> None:
    result = legato.run(key_error_run, executor=make_executor(executor))

    assert result.output == "found"
    assert result.tasks["raises_key_error"].attempt == 2
    assert len(notes(ledger, "raises_key_error")) == 2


def test_dependents_of_a_failure_are_upstream_failed_and_others_finish(
    executor: str, ledger: Path
) -> None:
    # keep_going (the default): the independent branch finishes.
    result = legato.run(failed_upstream, executor=make_executor(executor))

    assert result.state is RunState.FAILED
    assert "always_fails" in result.record.reason
    assert states(result) == {
        "always_fails": TaskState.FAILED,
        "plus_one": TaskState.UPSTREAM_FAILED,
        "one": TaskState.SUCCEEDED,
        "plus_one_2": TaskState.SUCCEEDED,
        "plus_one_3": TaskState.UPSTREAM_FAILED,
    }
    assert "always_fails" in result.tasks["plus_one"].reason
    assert "plus_one" in result.tasks["plus_one_3"].reason
    # The skipped tasks never ran; the independent branch did.
    assert notes(ledger, "plus_one") == [["plus_one", "1"]]
    assert [f.task for f in result.failures()] == ["always_fails"]


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_fail_fast_stops_running_tasks_and_cancels_pending_ones(name: str, ledger: Path) -> None:
    started = time.monotonic()
    result = legato.run(
        fail_fast_concurrent, executor=make_executor(name), failure_policy="fail_fast"
    )
    elapsed = time.monotonic() - started

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    assert notes(ledger, "fails_once_noted") == [["fails_once_noted", "seen"]]
    assert states(result) == {
        "fails_once_noted": TaskState.FAILED,
        "slow": TaskState.CANCELLED,  # it was running
        "plus_one": TaskState.CANCELLED,  # it was pending
        "plus_one_2": TaskState.CANCELLED,
    }
    assert "fail-fast" in result.tasks["slow"].reason
    assert elapsed < 5.0, f"the run waited for the slow task ({elapsed:.1f}s)"
    if name == "processes":
        (_, pid), *_ = notes(ledger, "slow-start")
        assert wait_until_gone([int(pid)]) == []
        assert notes(ledger, "slow-end") == []


def test_fail_fast_inline_never_starts_the_rest(ledger: Path) -> None:
    result = legato.run(fail_fast_serial, executor="inline", failure_policy="fail_fast")

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    assert states(result) == {
        "always_fails": TaskState.FAILED,
        "slow": TaskState.CANCELLED,
        "plus_one": TaskState.CANCELLED,
    }
    assert notes(ledger, "slow-start") == []
