"""A worker process that dies under a task becomes a failed attempt with the reason, and the
pool replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from crashes import crash
from ledger_notes import notes
from outcome_tasks import plus_one
from runchecks import assert_all_terminal, describe, states

import legato
from legato import ProcessesExecutor, RetryPolicy, RunState, TaskState, pipeline
from legato.executors.processes import describe_exit
from legato.model import wire

pytestmark = pytest.mark.timeout(30)

crash_retried = crash.with_options(retry=RetryPolicy(attempts=2, delay=0.01, jitter=0.0))

REASONS = {
    "exit": "exited with code 3",
    "segfault": "segmentation fault (SIGSEGV)",
    "sigkill": "killed by SIGKILL",
}


@pipeline
def crash_among_others(kind: str = "exit") -> tuple[str, int, int]:
    # The crash is first in trace order, so the later tasks run after it on the one worker.
    broken = crash(kind)
    return broken, plus_one(plus_one(1)), plus_one(10)


@pipeline
def crash_once(kind: str = "exit") -> str:
    return crash_retried(kind, only_first_attempt=True)


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_a_crash_fails_the_attempt_and_the_worker_is_replaced(kind: str, ledger: Path) -> None:
    result = legato.run(
        crash_among_others, {"kind": kind}, executor=ProcessesExecutor(max_workers=1)
    )

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    record = result.tasks["crash"]
    assert (record.state, record.attempt) == (TaskState.FAILED, 1), describe(result)
    assert record.error is not None
    assert record.error.kind == "crash"
    assert REASONS[kind] in record.error.message
    assert "could not start" not in record.error.message
    assert REASONS[kind] in record.reason
    # Later tasks of the same run still ran, on the worker that replaced the dead one.
    assert states(result) == {
        "crash": TaskState.FAILED,
        "plus_one": TaskState.SUCCEEDED,
        "plus_one_2": TaskState.SUCCEEDED,
        "plus_one_3": TaskState.SUCCEEDED,
    }
    assert [f.error.kind for f in result.failures() if f.error] == ["crash"]


@pytest.mark.parametrize("kind", ["exit", "segfault"])
def test_a_crashed_attempt_is_retried(kind: str, ledger: Path) -> None:
    result = legato.run(crash_once, {"kind": kind}, executor=ProcessesExecutor(max_workers=1))

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert result.output == "survived attempt 2"
    assert result.tasks["crash"].attempt == 2
    (_, _, _, first_pid), (_, _, _, second_pid) = notes(ledger, "crash")
    assert first_pid != second_pid


@pipeline
def just_one() -> int:
    return plus_one(1)


def test_a_worker_sent_a_call_version_it_does_not_read_says_so_and_crashes_the_attempt(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], ledger: Path
) -> None:
    # The orchestrator speaks a newer wire version than its worker processes, as when
    # legato is upgraded under a running orchestrator that then starts a worker.
    monkeypatch.setattr(wire, "VERSION", wire.VERSION + 1)
    result = legato.run(just_one, executor=ProcessesExecutor(max_workers=1))

    assert result.state is RunState.FAILED, describe(result)
    record = result.tasks["plus_one"]
    assert record.error is not None
    assert record.error.kind == "crash"
    assert "another install of legato" in record.error.message
    assert f"was sent version {wire.VERSION}" in capfd.readouterr().err
    assert describe_exit(wire.WIRE_VERSION_EXIT) in record.error.message
