"""The processes executor stops a task that runs past its timeout however it hangs: SIGTERM to
the worker's process group, SIGKILL after the grace period. Nothing it started survives."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hangs import HANGS, hang
from ledger_notes import notes
from outcome_tasks import nap
from runchecks import assert_all_terminal, describe, wait_until_gone

import legato
from legato import ProcessesExecutor, RetryPolicy, RunState, TaskState, pipeline

pytestmark = pytest.mark.timeout(30)

TIMEOUT = 2.0  # the deadline runs from hand-over: room for a cold worker to start on a busy machine
GRACE = 0.8

hang_briefly = hang.with_options(timeout=TIMEOUT)
hang_then_recover = hang.with_options(
    timeout=TIMEOUT, retry=RetryPolicy(attempts=2, delay=0.01, jitter=0.0)
)

nap_too_short = nap.with_options(timeout=0.02, retry=RetryPolicy(attempts=4, delay=0.0, jitter=0.0))


@pipeline
def hanging(kind: str = "sleep") -> str:
    return hang_briefly(kind)


@pipeline
def hanging_once(kind: str = "sleep") -> str:
    return hang_then_recover(kind, only_first_attempt=True)


def _started_pids(ledger: Path) -> list[int]:
    """The worker pid each hanging attempt noted, then any child process it started."""
    return [int(w[2]) for w in notes(ledger, "pid")] + [int(w[2]) for w in notes(ledger, "child")]


@pytest.mark.parametrize("kind", sorted(HANGS))
def test_a_hang_is_stopped_at_its_timeout(kind: str, ledger: Path) -> None:
    executor = ProcessesExecutor(max_workers=1, kill_grace=GRACE)
    started = time.monotonic()
    result = legato.run(hanging, {"kind": kind}, executor=executor)
    elapsed = time.monotonic() - started

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    record = result.tasks["hang"]
    assert (record.state, record.attempt) == (TaskState.TIMED_OUT, 1)
    assert record.error is not None
    assert record.error.kind == "timeout"
    assert record.reason == f"ran past its timeout of {TIMEOUT:g}s and was stopped"

    pids = _started_pids(ledger)
    assert len(pids) == (2 if kind == "with_child" else 1), notes(ledger)
    assert wait_until_gone(pids) == [], f"{kind}: processes still running after the run"
    assert notes(ledger, "hang-ended") == []

    # The run ends once the worker is really gone: at once after SIGTERM, or after the grace
    # period for a task that ignores SIGTERM and must get SIGKILL.
    assert result.record.ended_at is not None
    assert record.ended_at is not None
    kill_took = result.record.ended_at - record.ended_at
    if kind == "ignore_sigterm":
        assert kill_took >= GRACE - 0.05
    else:
        assert kill_took < GRACE, f"{kind}: SIGTERM took {kill_took:.2f}s to stop the worker"
    assert elapsed < TIMEOUT + GRACE + 3.0


def test_a_timed_out_attempt_is_retried_on_a_fresh_worker(ledger: Path) -> None:
    # One worker: the retry can only run if the killed worker was replaced.
    executor = ProcessesExecutor(max_workers=1, kill_grace=GRACE)
    result = legato.run(hanging_once, {"kind": "busy_swallowing"}, executor=executor)

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert result.output == "attempt 2 did not hang"
    record = result.tasks["hang"]
    assert (record.state, record.attempt) == (TaskState.SUCCEEDED, 2)
    assert wait_until_gone(_started_pids(ledger)) == []
    assert notes(ledger, "recovered") == [["recovered", "busy_swallowing", "2"]]


@pipeline
def timed_out_before_ready() -> str:
    return nap_too_short("short", 5.0)


def test_timeouts_that_kill_workers_before_they_are_ready_do_not_break_the_pool(
    ledger: Path,
) -> None:
    # 20 ms is less than a worker takes to start, so every attempt kills a worker that never
    # said it was ready. That is not a worker that cannot start: every attempt must still get
    # a fresh worker and time out, rather than the pool giving up as broken.
    executor = ProcessesExecutor(max_workers=1, kill_grace=0.2)
    result = legato.run(timed_out_before_ready, executor=executor)

    record = result.tasks["nap"]
    assert (record.state, record.attempt) == (TaskState.TIMED_OUT, 4), describe(result)
    assert record.error is not None
    assert record.error.kind == "timeout"
