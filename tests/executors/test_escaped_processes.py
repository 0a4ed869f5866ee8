"""Processes a task starts outside its worker's process group (in a session of their own, or
double-forked with ``setsid``) die with the call on the processes executor: at its timeout,
when the run is cancelled, when the worker is killed, when the run ends, and when the
orchestrator itself is killed. On Linux only: elsewhere the executor reaches only the
worker's process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from escaping_tasks import ESCAPES, escape, noted_processes, started_at, survivors
from ledger_notes import notes, wait_for_note
from runchecks import RESOURCES, describe

import legato
from legato import ProcessesExecutor, RunState, TaskState, pipeline

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="the reaper needs Linux"),
    pytest.mark.timeout(60),
]

TIMEOUT = 3.0  # room for a cold worker to start its processes and note them on a busy machine
GRACE = 0.5

escape_briefly = escape.with_options(timeout=TIMEOUT)


@pipeline
def escaping_with_timeout(how: str, then: str = "block") -> int:
    return escape_briefly(how, then)


@pipeline
def escaping(how: str = "both", then: str = "block") -> int:
    return escape(how, then)


@pytest.fixture(autouse=True)
def _no_sleeper_left_behind(ledger: Path) -> Iterator[None]:
    """A failing test must not leave its ``sleep 1000`` processes to the next ones."""
    yield
    for pid, start in noted_processes(ledger):
        if started_at(pid) == start:
            os.kill(pid, signal.SIGKILL)


def _executor() -> ProcessesExecutor:
    return ProcessesExecutor(max_workers=1, kill_grace=GRACE)


def _escaped(ledger: Path) -> int:
    """How many processes the task started outside its group, once it noted them all."""
    assert notes(ledger, "escaped-all"), "the task did not get as far as noting its processes"
    return len(notes(ledger, "escaped"))


@pytest.mark.parametrize("how", sorted(ESCAPES))
def test_a_timeout_kills_what_left_the_process_group(how: str, ledger: Path) -> None:
    result = legato.run(escaping_with_timeout, {"how": how}, executor=_executor())

    record = result.tasks["escape"]
    assert record.state is TaskState.TIMED_OUT, describe(result)
    assert _escaped(ledger) == ESCAPES[how]
    assert survivors(ledger) == []


def test_a_timeout_asks_what_left_the_process_group_to_stop_first(ledger: Path) -> None:
    # The task ignores SIGTERM, so its worker lives on for the grace period: time enough for
    # the listener to answer the SIGTERM it must be sent too.
    executor = ProcessesExecutor(max_workers=1, kill_grace=2.0)
    result = legato.run(
        escaping_with_timeout, {"how": "listening", "then": "ignore_sigterm"}, executor=executor
    )

    assert result.tasks["escape"].state is TaskState.TIMED_OUT, describe(result)
    (_, listener, _) = notes(ledger, "escaped")[0]
    assert notes(ledger, "terminated") == [["terminated", listener]]
    assert survivors(ledger) == []


def test_a_cancel_kills_what_left_the_process_group(ledger: Path) -> None:
    handle = legato.start(escaping, executor=_executor())
    wait_for_note(ledger, "escaped-all", timeout=30)
    handle.cancel()
    result = handle.wait(timeout=20)

    assert result.state is RunState.CANCELLED, describe(result)
    assert _escaped(ledger) == 2
    assert survivors(ledger) == []


def test_a_killed_worker_leaves_nothing_it_started(ledger: Path) -> None:
    handle = legato.start(escaping, executor=_executor())
    wait_for_note(ledger, "escaped-all", timeout=30)
    (_, worker, _) = notes(ledger, "worker")[0]
    os.kill(int(worker), signal.SIGKILL)
    result = handle.wait(timeout=20)

    record = result.tasks["escape"]
    assert record.state is TaskState.FAILED, describe(result)
    assert record.error is not None
    assert "killed by SIGKILL" in record.error.message
    assert _escaped(ledger) == 2
    assert survivors(ledger) == []


def test_the_end_of_the_run_kills_what_a_task_left_running(ledger: Path) -> None:
    result = legato.run(escaping, {"then": "return"}, executor=_executor())

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert result.output == 2
    assert survivors(ledger) == []


def test_a_killed_orchestrator_leaves_nothing_its_tasks_started(ledger: Path) -> None:
    orchestrator = subprocess.Popen(
        [sys.executable, str(RESOURCES / "escaping_run.py")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_note(ledger, "escaped-all", timeout=30)
        orchestrator.send_signal(signal.SIGKILL)
        orchestrator.wait(timeout=10)

        assert _escaped(ledger) == 2
        assert survivors(ledger, timeout=10) == []
    finally:
        if orchestrator.poll() is None:
            orchestrator.kill()
