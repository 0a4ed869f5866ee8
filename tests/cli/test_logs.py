"""``legato logs``: each attempt's output under a header saying how the attempt ended, and
a word when a run or a task captured nothing."""

from __future__ import annotations

import io

from rich.console import Console

from legato.cli.attempts import attempts_of
from legato.cli.exits import OK
from legato.cli.logs import _Printer
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import Event, PlannedTask, RunStarted, TaskTransitioned
from legato.model.runs import LogEntry, RunInfo
from legato.model.states import RunState, TaskState
from legato.store.memory import MemoryRunStore

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


def test_a_followed_run_heads_each_attempt_as_it_stands() -> None:
    """The printer folds the events of the tasks that write: a task first seen from the
    log's start, the attempts still moving after the last event folded."""
    boom = ErrorInfo(kind=ErrorKind.RAISED, type_name="builtins.ValueError", message="boom")
    store = MemoryRunStore()
    store.create_run(RunInfo(run_id="r", pipeline="p", state=RunState.RUNNING, owner="o"))
    plan = (PlannedTask(key="fit", name="fit"), PlannedTask(key="other", name="other"))
    store.append("r", "o", [RunStarted(run_id="r", seq=1, at=1.0, pipeline="p", tasks=plan)])
    out = io.StringIO()
    printer = _Printer(Console(file=out, width=200), store, "r", None)
    written = iter(range(1, 100))

    def wrote(key: str, attempt: int, text: str) -> LogEntry:
        return LogEntry(
            run_id="r", key=key, attempt=attempt, stream="stdout", text=text, at=0.0,
            seq=next(written),
        )  # fmt: skip

    store.append("r", "o", [_moved(2, "fit", 1, TaskState.RUNNING)])
    store.append("r", "o", [_moved(3, "other", 1, TaskState.RUNNING)])
    printer.show([wrote("fit", 1, "a\n"), wrote("other", 1, "x\n")])
    store.append(
        "r", "o",
        [
            _moved(4, "fit", 1, TaskState.RETRY_WAIT, error=boom),
            _moved(5, "fit", 2, TaskState.RUNNING),
            _moved(6, "other", 1, TaskState.SUCCEEDED),
        ],
    )  # fmt: skip
    printer.show([wrote("fit", 2, "b\n")])
    store.append("r", "o", [_moved(7, "fit", 2, TaskState.FAILED, error=boom)])
    printer.show([wrote("other", 1, "y\n"), wrote("fit", 2, "c\n")])
    assert out.getvalue().splitlines() == [
        "==> fit · attempt 1 · running <==",
        "a",
        "==> other · attempt 1 · running <==",
        "x",
        "==> fit · attempt 2 · running <==",
        "b",
        "==> other · attempt 1 · succeeded <==",
        "y",
        "==> fit · attempt 2 · failed <==",
        "c",
    ]
    assert printer.seq == 5


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
