"""Soft timeouts: the threads executor writes a timed-out attempt off at once and drops its
late result; the inline executor can only judge an attempt when it returns."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ledger_notes import notes
from outcome_tasks import echo, nap, one
from runchecks import assert_all_terminal, describe

import legato
from legato import RetryPolicy, RunState, TaskState, ThreadsExecutor, pipeline
from legato.testing import EventRecorder

pytestmark = pytest.mark.timeout(30)

nap_limited = nap.with_options(name="nap_limited", timeout=0.3)
nap_retried = nap.with_options(
    name="nap_retried", timeout=0.3, retry=RetryPolicy(attempts=2, delay=0.01, jitter=0.0)
)
nap_not_retried = nap.with_options(
    name="nap_not_retried",
    timeout=0.3,
    retry=RetryPolicy(attempts=2, delay=0.01, retry_on_timeout=False),
)


@pipeline
def late_result() -> tuple[object, str]:
    late = nap_limited("late", 0.7)
    # Keeps the run going past the moment the abandoned thread hands its result in.
    return echo(late), nap("alive", 1.4)


@pipeline
def late_and_dependent() -> object:
    return echo(nap_limited("late", 0.5))


@pipeline
def stuck_then_more() -> tuple[str, int]:
    return nap_limited("stuck", 3.0), one()


@pipeline
def late_on_first_attempt() -> str:
    return nap_retried("first", 0.6, only_first_attempt=True)


@pipeline
def late_not_retried() -> str:
    return nap_not_retried("first", 0.6, only_first_attempt=True)


def test_threads_write_off_a_timed_out_attempt_and_drop_its_late_result(ledger: Path) -> None:
    recorder = EventRecorder()
    result = legato.run(late_result, executor=ThreadsExecutor(max_workers=2), listeners=[recorder])

    assert_all_terminal(result)
    # The abandoned thread finished while the run still went on...
    assert notes(ledger, "nap-end")[0] == ["nap-end", "late", "1"]
    # ...and its result changed nothing.
    assert recorder.states("nap_limited") == ["ready", "running", "timed_out"]
    record = result.tasks["nap_limited"]
    assert (record.state, record.attempt) == (TaskState.TIMED_OUT, 1)
    assert record.error is not None
    assert record.error.kind == "timeout"
    assert "timeout of 0.3s" in record.reason
    assert "thread may still be running" in record.reason
    assert record.duration is not None
    assert record.duration < 0.6, "written off late"
    assert result.tasks["echo"].state is TaskState.UPSTREAM_FAILED
    assert notes(ledger, "echo") == []
    assert result.tasks["nap"].state is TaskState.SUCCEEDED
    assert result.state is RunState.FAILED


def test_threads_do_not_wait_for_an_abandoned_thread(ledger: Path) -> None:
    # One worker thread: the other task can only run on the thread that replaces it.
    started = time.monotonic()
    result = legato.run(stuck_then_more, executor=ThreadsExecutor(max_workers=1))
    elapsed = time.monotonic() - started

    assert result.tasks["nap_limited"].state is TaskState.TIMED_OUT
    assert result.tasks["one"].state is TaskState.SUCCEEDED
    assert elapsed < 2.0, f"the run waited {elapsed:.1f}s for a 3s task it had written off"
    assert notes(ledger, "nap-end") == []


def test_inline_judges_the_timeout_when_the_call_returns(ledger: Path) -> None:
    result = legato.run(late_and_dependent, executor="inline")

    record = result.tasks["nap_limited"]
    assert (record.state, record.attempt) == (TaskState.TIMED_OUT, 1), describe(result)
    assert record.error is not None
    assert record.error.kind == "timeout"
    assert "past its timeout of 0.3s" in record.reason
    # Inline cannot interrupt: the call ran to its end, then was judged.
    assert ["nap-end", "late", "1"] in notes(ledger, "nap-end")
    assert record.ran_for is not None
    assert record.ran_for >= 0.5
    assert result.tasks["echo"].state is TaskState.UPSTREAM_FAILED


@pytest.mark.parametrize("name", ["inline", "threads"])
def test_a_soft_timed_out_attempt_is_retried(name: str, ledger: Path) -> None:
    result = legato.run(late_on_first_attempt, executor=name)

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert result.output == "first woke on attempt 2"
    assert result.tasks["nap_retried"].attempt == 2


@pytest.mark.parametrize("name", ["inline", "threads"])
def test_retry_on_timeout_false_does_not_retry(name: str, ledger: Path) -> None:
    result = legato.run(late_not_retried, executor=name)

    record = result.tasks["nap_not_retried"]
    assert (record.state, record.attempt) == (TaskState.TIMED_OUT, 1), describe(result)
    assert [w[:2] for w in notes(ledger, "nap-start")] == [["nap-start", "first"]]
