"""Replay tests from recorded histories (``tests/resources/histories``).

Folding a stored history must give the same final states whatever later changes the reducer;
running the same pipeline again must make the same events, whatever later changes the loop.
A deliberate change of behaviour re-records them: ``python tests/resources/history_pipelines.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from history_pipelines import HISTORIES, RUNS, portable

from legato import RunState, TaskState
from legato.engine.reducer import fold
from legato.model.events import Event
from legato.testing import check_history, load_history, save_history

S = TaskState

EXPECTED: dict[str, tuple[RunState, dict[str, tuple[TaskState, int]]]] = {
    "retried_map": (
        RunState.SUCCEEDED,
        {
            "flaky_load": (S.SUCCEEDED, 3),
            "square": (S.SUCCEEDED, 1),
            "square[0]": (S.SUCCEEDED, 1),
            "square[1]": (S.SUCCEEDED, 1),
            "square[2]": (S.SUCCEEDED, 1),
            "total": (S.SUCCEEDED, 1),
        },
    ),
    "keep_going": (
        RunState.FAILED,
        {
            "square": (S.SUCCEEDED, 1),
            "square[0]": (S.SUCCEEDED, 1),
            "square[1]": (S.SUCCEEDED, 1),
            "total": (S.SUCCEEDED, 1),
            "broken": (S.FAILED, 1),  # ValueError; the policy retries only KeyError
            "report": (S.UPSTREAM_FAILED, 1),
        },
    ),
    "fail_fast": (
        RunState.FAILED,
        {
            "broken": (S.FAILED, 1),
            "report": (S.UPSTREAM_FAILED, 1),
            "square": (S.CANCELLED, 1),
            "square[0]": (S.CANCELLED, 1),
            "square[1]": (S.CANCELLED, 1),
            "square[2]": (S.CANCELLED, 1),
        },
    ),
    "cancelled": (
        RunState.CANCELLED,
        {
            "flaky_load": (S.CANCELLED, 2),  # attempt 2 claimed, cancelled before it began
            "square": (S.CANCELLED, 1),
            "total": (S.CANCELLED, 1),
        },
    ),
}


def history(name: str) -> list[Event]:
    return load_history(HISTORIES / f"{name}.json")


def test_every_recorded_history_has_expectations() -> None:
    assert {p.stem for p in HISTORIES.glob("*.json")} == set(EXPECTED) == set(RUNS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_folding_a_recorded_history_gives_the_recorded_outcome(name: str) -> None:
    events = history(name)
    run = fold(events)
    state, tasks = EXPECTED[name]
    assert run.state is state
    assert {k: (t.state, t.attempt) for k, t in run.tasks.items()} == tasks
    assert run.last_seq == len(events)
    check_history(events)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_engine_still_makes_the_recorded_events(name: str) -> None:
    assert portable(RUNS[name]()) == history(name)


def test_recorded_errors_and_retry_times_survive_the_round_trip(tmp_path: Path) -> None:
    events = history("retried_map")
    waits = [e for e in events if getattr(e, "state", None) is S.RETRY_WAIT]
    assert [(e.retry_at - e.at) for e in waits] == [2.0, 6.0]  # type: ignore[attr-defined]
    assert all(e.error is not None for e in waits)  # type: ignore[attr-defined]
    copy = tmp_path / "copy.json"
    save_history(events, copy)
    assert load_history(copy) == events
    assert copy.read_text() == (HISTORIES / "retried_map.json").read_text()
