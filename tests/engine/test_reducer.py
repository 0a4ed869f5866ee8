"""The reducer: a run's record as a pure fold of its events."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legato import RunState, TaskState
from legato.engine.reducer import apply, fold
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import (
    Event,
    MapExpanded,
    PlannedTask,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.states import TASK_TERMINAL, TASK_TRANSITIONS
from legato.testing import check_history

S = TaskState
RUN = "run-1"


class History:
    """Builds a history event by event, numbering and timing them."""

    def __init__(self, *tasks: PlannedTask) -> None:
        self.events: list[Event] = []
        self.now = 100.0
        self.add(RunStarted, pipeline="p", params={"n": 2}, tasks=tasks, executor="inline")
        self.add(RunTransitioned, state=RunState.RUNNING)

    def add(self, kind: type[Event], *, dt: float = 0.0, **fields: Any) -> History:
        self.now += dt
        self.events.append(kind(run_id=RUN, seq=len(self.events) + 1, at=self.now, **fields))
        return self

    def task(self, key: str, state: TaskState, attempt: int = 1, **fields: Any) -> History:
        return self.add(TaskTransitioned, key=key, state=state, attempt=attempt, **fields)


BOOM = ErrorInfo.of(ErrorKind.RAISED, "boom", "builtins.ValueError")


def recorded() -> History:
    """A run: ``load`` is retried once, ``fit`` maps over two items, ``report`` fails."""
    h = History(
        PlannedTask(key="load", name="load"),
        PlannedTask(key="fit", name="fit", mapped=True),
        PlannedTask(key="report", name="report"),
    )
    h.task("load", S.READY).task("load", S.RUNNING)
    h.task("load", S.RETRY_WAIT, error=BOOM, retry_at=h.now + 5, ran_for=0.5, dt=1.0)
    h.task("load", S.READY, attempt=2, dt=5.0).task("load", S.RUNNING, attempt=2, dt=1.0)
    h.task("load", S.SUCCEEDED, attempt=2, ran_for=2.0, dt=2.0)
    h.task("fit", S.RUNNING, reason="2 items").add(MapExpanded, key="fit", count=2)
    h.task("fit[0]", S.RUNNING).task("fit[0]", S.SUCCEEDED, dt=1.0)
    h.task("fit[1]", S.RUNNING).task("fit[1]", S.SUCCEEDED, dt=1.0)
    h.task("fit", S.SUCCEEDED)
    h.task("report", S.READY).task("report", S.RUNNING)
    h.task("report", S.FAILED, error=BOOM, reason="ValueError: boom", dt=3.0)
    h.add(RunTransitioned, state=RunState.FAILED, reason="failed: report")
    return h


def test_folding_a_recorded_history_gives_every_final_record() -> None:
    events = recorded().events
    run = fold(events)
    assert run.run_id == RUN
    assert run.pipeline == "p"
    assert run.params == {"n": 2}
    assert run.executor == "inline"
    assert run.state is RunState.FAILED
    assert run.reason == "failed: report"
    assert (run.started_at, run.ended_at) == (100.0, 114.0)
    assert run.last_seq == len(events)
    assert {k: t.state for k, t in run.tasks.items()} == {
        "load": S.SUCCEEDED,
        "fit": S.SUCCEEDED,
        "fit[0]": S.SUCCEEDED,
        "fit[1]": S.SUCCEEDED,
        "report": S.FAILED,
    }
    load = run.tasks["load"]
    assert load.attempt == 2
    assert (load.first_started_at, load.started_at, load.ended_at) == (100.0, 107.0, 109.0)
    assert load.duration == 2.0
    assert load.ran_for == 2.0
    assert load.error is None  # the failure of attempt 1 is history once attempt 2 begins
    report = run.tasks["report"]
    assert report.error == BOOM
    assert report.reason == "ValueError: boom"
    assert report.duration == 3.0


def test_the_error_stays_on_record_while_a_retry_waits() -> None:
    events = recorded().events
    waiting = fold(events[:5])
    assert waiting.tasks["load"].state is S.RETRY_WAIT
    assert waiting.tasks["load"].error == BOOM
    assert waiting.tasks["load"].ended_at == 101.0
    assert fold(events[:6]).tasks["load"].error is None


def test_map_expansion_creates_ready_items_under_their_group() -> None:
    events = recorded().events
    at = next(i for i, e in enumerate(events) if isinstance(e, MapExpanded))
    before, after = fold(events[:at]), fold(events[: at + 1])
    assert "fit[0]" not in before.tasks
    assert before.tasks["fit"].items is None
    group = after.tasks["fit"]
    assert group.mapped
    assert group.items == 2
    assert group.state is S.RUNNING
    assert group.reason == "2 items"
    for i in range(2):
        item = after.tasks[f"fit[{i}]"]
        assert item.state is S.READY
        assert item.map_index == i
        assert item.parent == "fit"
        assert item.name == "fit"
        assert item.attempt == 1
        assert not item.mapped


def test_a_map_over_nothing_creates_no_items() -> None:
    h = History(PlannedTask(key="fit", name="fit", mapped=True))
    h.task("fit", S.RUNNING).add(MapExpanded, key="fit", count=0).task("fit", S.SUCCEEDED)
    run = fold(h.events)
    assert list(run.tasks) == ["fit"]
    assert run.tasks["fit"].items == 0


@pytest.mark.parametrize("seq", [1, 2, 5])
def test_an_event_out_of_order_is_rejected_and_changes_nothing(seq: int) -> None:
    events = recorded().events
    run = fold(events[:5])
    before = copy.deepcopy(run)
    late = TaskTransitioned(run_id=RUN, seq=seq, at=0.0, key="fit", state=S.CANCELLED, attempt=1)
    with pytest.raises(ValueError, match="out of order"):
        apply(run, late)
    assert run == before


def test_gaps_in_sequence_numbers_are_accepted() -> None:
    # A store may hand over a run's events after a given sequence number.
    events = recorded().events
    run = fold(events[:3])
    apply(run, TaskTransitioned(run_id=RUN, seq=10, at=0.0, key="load", state=S.RUNNING, attempt=1))
    assert run.last_seq == 10


def test_an_event_of_another_run_is_rejected() -> None:
    run = fold(recorded().events[:3])
    stray = TaskTransitioned(run_id="other", seq=99, at=0.0, key="load", state=S.RUNNING, attempt=1)
    with pytest.raises(ValueError, match="other"):
        apply(run, stray)
    assert run.last_seq == 3


def test_an_unknown_event_type_is_rejected() -> None:
    run = fold(recorded().events[:2])
    with pytest.raises(TypeError):
        apply(run, Event(run_id=RUN, seq=3, at=0.0))
    assert run.last_seq == 2


def test_no_events_is_no_run() -> None:
    with pytest.raises(ValueError, match="RunStarted"):
        fold([])


def test_folding_is_deterministic_and_leaves_the_events_alone() -> None:
    events = recorded().events
    snapshot = list(events)
    assert fold(events) == fold(events)
    assert events == snapshot


# --------------------------------------------------------------------------- properties


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """Random valid histories: each step moves a random open task along the table."""
    n = draw(st.integers(1, 6))
    mapped = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    h = History(*(PlannedTask(key=f"t{i}", name=f"t{i}", mapped=mapped[i]) for i in range(n)))
    states = {f"t{i}": S.PENDING for i in range(n)}
    attempts = dict.fromkeys(states, 1)
    groups = {f"t{i}" for i in range(n) if mapped[i]}
    for _ in range(draw(st.integers(0, 60))):
        items = {g: [k for k in states if k.startswith(f"{g}[")] for g in groups}
        open_keys = sorted(
            k
            for k, s in states.items()
            if s not in TASK_TERMINAL
            and not (k in groups and any(states[i] not in TASK_TERMINAL for i in items[k]))
        )
        if not open_keys:
            break
        key = draw(st.sampled_from(open_keys))
        choices = sorted(TASK_TRANSITIONS[states[key]])
        if key in groups:
            # A group starts by expanding and ends after its items, succeeding only if
            # they all did.
            choices = [s for s in choices if s is not S.READY and s is not S.RETRY_WAIT]
            if states[key] is S.RUNNING:
                ok = all(states[i] is S.SUCCEEDED for i in items[key])
                choices = [S.SUCCEEDED] if ok else [S.FAILED, S.CANCELLED]
        to = draw(st.sampled_from(choices))
        if states[key] is S.RETRY_WAIT and to is S.READY:
            attempts[key] += 1
        extra: dict[str, Any] = {}
        if to is S.RETRY_WAIT:
            extra["retry_at"] = h.now + 1
        if to in (S.FAILED, S.RETRY_WAIT):
            extra["error"] = BOOM
        h.task(key, to, attempts[key], dt=draw(st.sampled_from([0.0, 0.5])), **extra)
        states[key] = to
        if key in groups and to is S.RUNNING:
            count = draw(st.integers(0, 3))
            h.add(MapExpanded, key=key, count=count)
            for i in range(count):
                states[f"{key}[{i}]"] = S.READY
                attempts[f"{key}[{i}]"] = 1
    return h.events


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_folding_in_pieces_equals_folding_at_once(events: list[Event], data: st.DataObject) -> None:
    cut = data.draw(st.integers(1, len(events)))
    run = fold(events[:cut])
    for event in events[cut:]:
        apply(run, event)
    assert run == fold(events)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_each_task_ends_as_its_last_transition_says(events: list[Event]) -> None:
    run = fold(events)
    last: dict[str, TaskTransitioned] = {}
    for event in events:
        if isinstance(event, TaskTransitioned):
            last[event.key] = event
    for key, record in run.tasks.items():
        if key in last:
            assert record.state is last[key].state
            assert record.attempt == last[key].attempt
            assert record.reason == last[key].reason
        else:
            assert record.state is (S.READY if "[" in key else S.PENDING)
    # The shipped checker agrees that these histories are valid (while still running).
    check_history(events, complete=False)
