"""Property test over random pipelines with random, nested conditions: every task ends in
exactly one terminal state; a task is skipped exactly when a condition around it chose the
other branch (a task deciding a branch: when its own condition is false); joins take the
branch that ran; the events obey the checker of event rules and fold into the same states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import branch_dags as bd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import legato
from legato import RunState, TaskState
from legato.engine.reducer import fold
from legato.model.states import TASK_TERMINAL
from legato.testing import EventRecorder, check_history

S, SK = TaskState.SUCCEEDED, TaskState.SKIPPED


@dataclass(frozen=True)
class Work:
    deps: tuple[int, ...]
    """Which visible outputs it reads (taken modulo how many there are)."""


@dataclass(frozen=True)
class Branch:
    value: bool
    """What its condition task returns."""
    deps: tuple[int, ...]
    then: tuple[Any, ...]
    other: tuple[Any, ...] | None
    """The ``otherwise`` block, or None for a ``when`` alone."""


def statements(depth: int) -> st.SearchStrategy[tuple[Any, ...]]:
    deps = st.lists(st.integers(0, 1000), max_size=3).map(tuple)
    work = st.builds(Work, deps=deps)
    if depth == 0:
        return st.lists(work, min_size=1, max_size=4).map(tuple)
    inner = statements(depth - 1)
    branch = st.builds(Branch, value=st.booleans(), deps=deps, then=inner, other=st.none() | inner)
    return st.lists(st.one_of(work, branch), min_size=1, max_size=4).map(tuple)


def build(program: tuple[Any, ...]) -> tuple[legato.Pipeline[..., Any], dict[str, TaskState]]:
    """A pipeline running ``program``, and how each of its tasks must end."""
    expected: dict[str, TaskState] = {}

    def pick(visible: list[Any], deps: tuple[int, ...]) -> list[Any]:
        return [visible[d % len(visible)] for d in deps] if visible else []

    def block(stmts: tuple[Any, ...], visible: list[Any], taken: bool) -> Any:
        last = None
        for stmt in stmts:
            if isinstance(stmt, Work):
                last = bd.work(*pick(visible, stmt.deps))
                expected[last._node] = S if taken else SK
            else:
                condition = bd.cond(stmt.value, *pick(visible, stmt.deps))
                expected[condition._node] = S if taken else SK
                visible.append(condition)
                when = legato.when(condition)
                expected[when.decision._node] = S if taken and stmt.value else SK
                with when:
                    then = block(stmt.then, list(visible), taken and stmt.value)
                if stmt.other is None:
                    continue
                otherwise = legato.otherwise()
                expected[otherwise.decision._node] = S if taken and not stmt.value else SK
                with otherwise:
                    other = block(stmt.other, list(visible), taken and not stmt.value)
                if then is None or other is None:
                    continue  # a branch that ends in a when alone has no value to join
                last = legato.one_of(then, other)
                expected[last._node] = S if taken else SK
            visible.append(last)
        return last

    @legato.pipeline
    def random_branches() -> Any:
        return block(program, [], True)

    return random_branches, expected


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(program: tuple[Any, ...], executor: str) -> None:
    target, expected = build(program)
    recorder = EventRecorder()
    result = legato.run(target, {}, executor=executor, store=False, listeners=[recorder])
    got = {k: t.state for k, t in result.tasks.items()}
    assert all(state in TASK_TERMINAL for state in got.values())
    assert got == expected
    assert result.state is RunState.SUCCEEDED
    record = check_history(recorder.events, graph=target.graph)
    assert {k: t.state for k, t in record.tasks.items()} == got
    assert {k: t.state for k, t in fold(recorder.events).tasks.items()} == got
    # a transition per task into a terminal state, exactly one
    ended: dict[str, int] = {}
    for event in recorder.events:
        state = getattr(event, "state", None)
        if isinstance(state, TaskState) and state in TASK_TERMINAL:
            ended[event.key] = ended.get(event.key, 0) + 1  # type: ignore[attr-defined]
    assert ended == dict.fromkeys(got, 1)


@PROPERTY
@given(program=statements(depth=2))
def test_random_conditions_skip_exactly_the_branches_not_taken(program: tuple[Any, ...]) -> None:
    check(program, "inline")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=statements(depth=2))
def test_random_conditions_on_threads(program: tuple[Any, ...]) -> None:
    check(program, "threads")
