"""``check_history``: what every valid run's events obey, and each way a history can break it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from history_pipelines import HISTORIES, keep_going

from legato import RunState, TaskState
from legato.model.events import Event, MapExpanded, RunTransitioned, TaskTransitioned
from legato.testing import InvalidHistoryError, check_history, load_history

S = TaskState


def recorded(name: str = "retried_map") -> list[Event]:
    return load_history(HISTORIES / f"{name}.json")


def renumbered(events: list[Event]) -> list[Event]:
    return [dataclasses.replace(e, seq=i) for i, e in enumerate(events, start=1)]


def index(events: list[Event], key: str, state: TaskState, nth: int = 0) -> int:
    hits = [
        i
        for i, e in enumerate(events)
        if isinstance(e, TaskTransitioned) and e.key == key and e.state is state
    ]
    return hits[nth]


def first_of(events: list[Event], kind: type[Event]) -> int:
    return next(i for i, e in enumerate(events) if isinstance(e, kind))


def changed(events: list[Event], i: int, **fields: Any) -> list[Event]:
    out = list(events)
    out[i] = dataclasses.replace(out[i], **fields)
    return out


def test_recorded_runs_pass_and_fold_into_their_record() -> None:
    for name in ("retried_map", "keep_going", "fail_fast", "cancelled"):
        record = check_history(recorded(name))
        assert record.state.is_terminal
    record = check_history(recorded("keep_going"), graph=keep_going.graph)
    assert record.tasks["report"].state is S.UPSTREAM_FAILED


def test_an_unfinished_history_passes_only_when_asked() -> None:
    events = recorded()[:-3]
    check_history(events, complete=False)
    with pytest.raises(InvalidHistoryError, match="not in a terminal state"):
        check_history(events)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda ev: [], "empty history"),
        (lambda ev: ev[1:], "starts with RunTransitioned"),
        (lambda ev: ev[:3] + ev[4:], "sequence number 5, expected 4"),
        (lambda ev: changed(ev, 3, run_id="other"), "belongs to run other"),
        (lambda ev: renumbered([*ev, ev[-2]]), "after the run ended"),
        (lambda ev: renumbered(ev[:1] + ev[:]), "a second RunStarted"),
        (
            lambda ev: changed(ev, index(ev, "flaky_load", S.RUNNING), state=S.PENDING),
            "ready -> pending is not a transition",
        ),
        (
            lambda ev: changed(ev, index(ev, "flaky_load", S.READY, 1), attempt=3),
            "ready in attempt 3, not 2",
        ),
        (
            lambda ev: changed(ev, index(ev, "flaky_load", S.RETRY_WAIT), retry_at=None),
            "without a retry time",
        ),
        (
            lambda ev: changed(ev, index(ev, "flaky_load", S.RUNNING), key="nobody"),
            "unknown task 'nobody'",
        ),
        (
            lambda ev: changed(ev, first_of(ev, MapExpanded), key="total"),
            "'total' is not a mapped task",
        ),
        (lambda ev: renumbered(ev[:1] + ev[2:]), "moved while the run was pending"),
        (
            lambda ev: changed(ev, len(ev) - 1, state=RunState.FAILED),
            "the run failed but every task succeeded",
        ),
    ],
)  # fmt: skip
def test_each_broken_rule_is_named(break_it: Any, message: str) -> None:
    with pytest.raises(InvalidHistoryError, match=message):
        check_history(break_it(recorded()))


def test_a_task_may_not_start_while_the_run_is_cancelling() -> None:
    events = recorded()
    i = index(events, "flaky_load", S.RUNNING)
    cancelling = RunTransitioned(run_id=events[0].run_id, seq=0, at=0.0, state=RunState.CANCELLING)
    broken = renumbered([*events[:i], cancelling, *events[i:]])
    with pytest.raises(InvalidHistoryError, match="started while the run was cancelling"):
        check_history(broken, complete=False)


def test_a_group_may_not_end_before_its_items() -> None:
    events = recorded()
    group_done = index(events, "square", S.SUCCEEDED)
    last_item = index(events, "square[2]", S.SUCCEEDED)
    moved = events[group_done]
    broken = renumbered([*events[:last_item], moved, *events[last_item:group_done]])
    broken += renumbered(events)[group_done + 1 :]
    with pytest.raises(
        InvalidHistoryError, match=r"ended succeeded before its items \['square\[2\]'\]"
    ):
        check_history(broken)


def test_with_the_graph_a_task_may_not_start_before_its_inputs() -> None:
    events = recorded("keep_going")
    # Make 'report' start although its input 'broken' failed.
    i = index(events, "report", S.UPSTREAM_FAILED)
    run_id = events[0].run_id
    extra = [
        TaskTransitioned(run_id=run_id, seq=0, at=0.0, key="report", state=s, attempt=1)
        for s in (S.READY, S.RUNNING, S.SUCCEEDED)
    ]
    broken = renumbered([*events[:i], *extra, *events[i + 1 :]])
    check_history(broken, complete=False)  # without the graph nothing is wrong
    with pytest.raises(
        InvalidHistoryError, match=r"'report' ready before its inputs \['broken', 'total'\]"
    ):
        check_history(broken, graph=keep_going.graph, complete=False)


def test_with_the_graph_upstream_failed_needs_a_failed_input() -> None:
    events = recorded("keep_going")
    i = index(events, "total", S.READY)
    run_id = events[0].run_id
    failed = TaskTransitioned(
        run_id=run_id, seq=0, at=0.0, key="total", state=S.UPSTREAM_FAILED, attempt=1
    )
    broken = renumbered([*events[:i], failed])
    with pytest.raises(InvalidHistoryError, match="no input of it failed"):
        check_history(broken, graph=keep_going.graph, complete=False)


def _branch_run(new: float) -> list[Event]:
    import branch_pipelines as bp

    import legato
    from legato.testing import EventRecorder

    recorder = EventRecorder()
    legato.run(
        bp.deploy_if_better, {"new": new}, executor="inline", store=False, listeners=[recorder]
    )
    return list(recorder.events)


def test_with_the_graph_skipped_needs_a_skipped_input_or_a_branch_not_taken() -> None:
    import branch_pipelines as bp

    graph = bp.deploy_if_better.graph
    events = _branch_run(0.9)
    check_history(events, graph=graph)
    # 'deploy' skipped although its branch was taken
    i = index(events, "deploy", S.READY)
    run_id = events[0].run_id
    skipped = TaskTransitioned(
        run_id=run_id, seq=0, at=0.0, key="deploy", state=S.SKIPPED, attempt=1
    )
    broken = renumbered([*events[:i], skipped])
    with pytest.raises(InvalidHistoryError, match="skipped but no input of it was skipped"):
        check_history(broken, graph=graph, complete=False)
    # only a task deciding a branch ends skipped from running
    i = index(events, "deploy", S.SUCCEEDED)
    broken = changed(events, i, state=S.SKIPPED)
    with pytest.raises(InvalidHistoryError, match="skipped while running but decides no branch"):
        check_history(broken, graph=graph, complete=False)


def test_a_run_with_skipped_tasks_succeeded() -> None:
    events = _branch_run(0.5)
    record = check_history(events)
    assert record.state is RunState.SUCCEEDED
    assert record.tasks["deploy"].state is S.SKIPPED
