"""Cancelling a run (``RunHandle.cancel``) and Ctrl-C: the run ends cancelled, every task
ends, and with processes nothing the cancelled task ran is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger_notes import notes, wait_for_note
from outcome_tasks import always_fails, echo, slow
from runchecks import (
    RESOURCES,
    assert_all_terminal,
    describe,
    make_executor,
    states,
    wait_until_gone,
)

import legato
from legato import RetryPolicy, RunState, TaskState, pipeline

pytestmark = pytest.mark.timeout(30)

retry_later = always_fails.with_options(retry=RetryPolicy(attempts=3, delay=30.0))


@pipeline
def long_run() -> object:
    return echo(slow(10.0))


@pipeline
def short_inline_run() -> object:
    return echo(slow(0.5))


@pipeline
def waiting_for_retry() -> int:
    return retry_later()


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_cancel_stops_running_tasks(name: str, ledger: Path) -> None:
    handle = legato.start(long_run, executor=make_executor(name))
    (_, pid) = wait_for_note(ledger, "slow-start")
    cancelled_at = time.monotonic()
    handle.cancel()
    result = handle.wait(timeout=10)
    took = time.monotonic() - cancelled_at

    assert_all_terminal(result)
    assert result.state is RunState.CANCELLED, describe(result)
    assert result.record.reason == "cancelled by request"
    assert states(result) == {"slow": TaskState.CANCELLED, "echo": TaskState.CANCELLED}
    assert result.tasks["slow"].error is not None
    assert result.tasks["slow"].error.kind == "cancelled"
    assert took < 3.0, f"cancel took {took:.1f}s"
    assert notes(ledger, "echo") == []
    if name == "processes":
        assert wait_until_gone([int(pid)]) == []
        assert notes(ledger, "slow-end") == []
    with pytest.raises(legato.RunFailedError):
        _ = result.output


def test_cancel_inline_waits_for_the_running_call(ledger: Path) -> None:
    # The inline executor cannot interrupt its own thread: the call in progress finishes,
    # nothing after it starts.
    handle = legato.start(short_inline_run, executor="inline")
    wait_for_note(ledger, "slow-start")
    handle.cancel()
    result = handle.wait(timeout=10)

    assert_all_terminal(result)
    assert result.state is RunState.CANCELLED
    assert result.tasks["echo"].state is TaskState.CANCELLED
    assert notes(ledger, "echo") == []


@pytest.mark.parametrize("name", ["inline", "threads", "processes"])
def test_cancel_during_a_retry_delay(name: str, ledger: Path) -> None:
    handle = legato.start(waiting_for_retry, executor=make_executor(name))
    wait_for_note(ledger, "always_fails")
    time.sleep(0.05)  # let the failure reach the loop: the task now waits 30 s to retry
    cancelled_at = time.monotonic()
    handle.cancel()
    result = handle.wait(timeout=10)

    assert time.monotonic() - cancelled_at < 2.0
    assert_all_terminal(result)
    assert result.state is RunState.CANCELLED
    record = result.tasks["always_fails"]
    assert (record.state, record.attempt) == (TaskState.CANCELLED, 1), describe(result)
    assert len(notes(ledger, "always_fails")) == 1


def _script_env(ledger: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), *sys.path])
    env["LEGATO_TEST_LEDGER"] = str(ledger)
    return env


@pytest.mark.parametrize("name", ["inline", "threads", "processes"])
def test_ctrl_c_cancels_the_run_and_raises_run_interrupted(name: str, ledger: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(RESOURCES / "interrupted_run.py"), name],
        env=_script_env(ledger),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (_, pid) = wait_for_note(ledger, "slow-start")
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - interrupted_at

    assert proc.returncode == 130, err
    assert out.split() == [
        "interrupted",
        "keyboard-interrupt",
        "cancelled",
        "slow=cancelled",
        "echo=cancelled",
    ], err
    assert took < 5.0, f"Ctrl-C took {took:.1f}s to stop a 30s task"
    assert notes(ledger, "echo") == []
    assert wait_until_gone([int(pid)]) == []  # the script's own pid for inline and threads
