"""``legato logs``: each attempt's output under a header saying how the attempt ended, and
a word when a run or a task captured nothing."""

from __future__ import annotations

from legato.cli.attempts import attempts_of
from legato.cli.exits import OK
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import Event, TaskTransitioned
from legato.model.states import TaskState

from .conftest import RESOURCES, Invoke, run_id_of, target

SEEING = RESOURCES / "seeing_pipelines.py"


def test_each_attempt_is_headed_with_its_task_number_and_end(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("retried", SEEING)).stdout)
    result = cli("logs", run_id)
    assert result.exit_code == OK, result.stderr
    assert result.stdout.splitlines() == [
        "==> fit · attempt 1 · failed, retried <==",
        "attempt 1 starts",
        "attempt 1 fails",
        "==> fit · attempt 2 · failed, retried <==",
        "attempt 2 starts",
        "attempt 2 fails",
        "==> fit · attempt 3 · succeeded <==",
        "attempt 3 starts",
    ]
    assert cli("logs", run_id, "fit").stdout == result.stdout
    quiet = cli("logs", run_id, "quiet")
    assert quiet.exit_code == OK
    assert quiet.stdout == "task quiet captured no output\n"


def test_a_run_that_captured_nothing_says_so(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("mute", SEEING)).stdout)
    result = cli("logs", run_id)
    assert result.exit_code == OK
    assert result.stdout == f"run {run_id} captured no output\n"


def _moved(seq: int, key: str, attempt: int, state: TaskState, **more: object) -> Event:
    return TaskTransitioned(
        run_id="r", seq=seq, at=float(seq), key=key, attempt=attempt, state=state, **more
    )


def test_attempts_say_how_each_ended() -> None:
    boom = ErrorInfo(kind=ErrorKind.RAISED, type_name="builtins.ValueError", message="boom")
    late = ErrorInfo.of(ErrorKind.TIMEOUT, "ran past its timeout of 1s")
    events = [
        _moved(1, "a", 1, TaskState.RUNNING),
        _moved(2, "a", 1, TaskState.RETRY_WAIT, error=late),
        _moved(3, "a", 2, TaskState.READY),
        _moved(4, "a", 2, TaskState.RUNNING),
        _moved(5, "a", 2, TaskState.FAILED, error=boom),
        _moved(6, "b", 1, TaskState.RUNNING),
        _moved(7, "a", 3, TaskState.PENDING),  # a resume reopens it
        _moved(8, "a", 3, TaskState.RUNNING),
    ]
    found = attempts_of(events)
    assert [(a.key, a.attempt, a.outcome) for a in found.values()] == [
        ("a", 1, "timed_out, retried"),
        ("a", 2, "failed, run again"),
        ("b", 1, "running"),
        ("a", 3, "running"),
    ]
    assert found[("a", 1)].error == late
    assert found[("a", 2)].error == boom
    assert [a.settled for a in found.values()] == [True, True, False, False]
    assert [a.ended_badly for a in found.values()] == [True, True, False, False]


def test_the_logs_of_a_map_are_its_items(cli: Invoke) -> None:
    run_id = run_id_of(cli("run", target("chatty", SEEING)).stdout)
    items = cli("logs", run_id, "said")
    assert items.exit_code == OK, items.stderr
    assert items.stdout.splitlines() == [
        line
        for i in range(3)
        for line in (f"==> said[{i}] · attempt 1 · succeeded <==", f"item {i}")
    ]
    assert cli("logs", run_id, "said[1]").stdout.splitlines()[1:] == ["item 1"]
    assert cli("logs", run_id).stdout.splitlines()[:2] == [
        "==> counted · attempt 1 · succeeded <==",
        "counting to 3",
    ]
