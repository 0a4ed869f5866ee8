"""Property test over random pipelines with random, nested conditions and random failures:
every task ends in exactly one terminal state; a task is skipped exactly when a condition
around it chose the other branch (a task deciding a branch: when its own condition is
false), whatever failed meanwhile; a failure upstream makes a task on a branch taken (or
not yet decided) ``upstream_failed``; joins take the branch that ran; the events obey the
checker of event rules and fold into the same states."""

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

S, SK, F, UF = (
    TaskState.SUCCEEDED,
    TaskState.SKIPPED,
    TaskState.FAILED,
    TaskState.UPSTREAM_FAILED,
)


@dataclass(frozen=True)
class Work:
    deps: tuple[int, ...]
    """Which visible outputs it reads (taken modulo how many there are)."""
    fail: bool = False


@dataclass(frozen=True)
class Branch:
    value: bool
    """What its condition task returns."""
    deps: tuple[int, ...]
    then: tuple[Any, ...]
    other: tuple[Any, ...] | None
    """The ``otherwise`` block, or None for a ``when`` alone."""


def statements(depth: int, failures: bool) -> st.SearchStrategy[tuple[Any, ...]]:
    deps = st.lists(st.integers(0, 1000), max_size=3).map(tuple)
    # about one task in five fails, when failures are drawn at all
    fail = st.integers(0, 4).map(lambda n: n == 0) if failures else st.just(False)
    work = st.builds(Work, deps=deps, fail=fail)
    if depth == 0:
        return st.lists(work, min_size=1, max_size=4).map(tuple)
    inner = statements(depth - 1, failures)
    branch = st.builds(Branch, value=st.booleans(), deps=deps, then=inner, other=st.none() | inner)
    return st.lists(st.one_of(work, branch), min_size=1, max_size=4).map(tuple)


@dataclass
class Placed:
    """A value the body made, and how its task must end."""

    out: Any
    state: TaskState


def build(program: tuple[Any, ...]) -> tuple[legato.Pipeline[..., Any], dict[str, TaskState]]:
    """A pipeline running ``program``, and how each of its tasks must end."""
    expected: dict[str, TaskState] = {}

    def pick(visible: list[Placed], deps: tuple[int, ...]) -> list[Placed]:
        return [visible[d % len(visible)] for d in deps] if visible else []

    def ending(scope: TaskState, inputs: list[Placed], fails: bool = False) -> TaskState:
        """How a task ends in a scope that is taken (S), not taken (SK) or undecidable (UF)."""
        if scope is not S:
            return scope
        if any(i.state in (F, UF) for i in inputs):
            return UF
        return F if fails else S

    def place(out: Any, state: TaskState, visible: list[Placed] | None = None) -> Placed:
        expected[out._node] = state
        placed = Placed(out, state)
        if visible is not None:
            visible.append(placed)
        return placed

    def block(stmts: tuple[Any, ...], visible: list[Placed], scope: TaskState) -> Placed | None:
        last = None
        for stmt in stmts:
            if isinstance(stmt, Work):
                inputs = pick(visible, stmt.deps)
                out = bd.work(stmt.fail, *(i.out for i in inputs))
                last = place(out, ending(scope, inputs, stmt.fail), visible)
                continue
            inputs = pick(visible, stmt.deps)
            condition = place(bd.cond(stmt.value, *(i.out for i in inputs)), ending(scope, inputs))
            visible.append(condition)
            decided = ending(scope, [condition])  # S, SK (not taken above) or UF
            when = legato.when(condition.out)
            then_scope = decided if decided is not S else (S if stmt.value else SK)
            place(when.decision, then_scope)
            with when:
                then = block(stmt.then, list(visible), then_scope)
            if stmt.other is None:
                continue
            otherwise = legato.otherwise()
            other_scope = decided if decided is not S else (SK if stmt.value else S)
            place(otherwise.decision, other_scope)
            with otherwise:
                other = block(stmt.other, list(visible), other_scope)
            if then is None or other is None:
                continue  # a branch that ends in a when alone has no value to join
            ran = then if then_scope is S else other if other_scope is S else None
            joined = scope if scope is not S else UF if ran is None else ending(S, [ran])
            last = place(legato.one_of(then.out, other.out), joined, visible)
        return last

    @legato.pipeline
    def random_branches() -> Any:
        block(program, [], S)

    return random_branches, expected


def check(program: tuple[Any, ...], executor: str) -> None:
    target, expected = build(program)
    recorder = EventRecorder()
    result = legato.run(target, {}, executor=executor, store=False, listeners=[recorder])
    got = {k: t.state for k, t in result.tasks.items()}
    assert got == expected
    bad = any(s in (F, UF) for s in got.values())
    assert result.state is (RunState.FAILED if bad else RunState.SUCCEEDED)
    record = check_history(recorder.events, graph=target.graph)
    assert {k: t.state for k, t in record.tasks.items()} == got
    assert {k: t.state for k, t in fold(recorder.events).tasks.items()} == got
    # exactly one transition into a terminal state per task
    ended: dict[str, int] = {}
    for event in recorder.events:
        state = getattr(event, "state", None)
        if isinstance(state, TaskState) and state in TASK_TERMINAL:
            key = event.key  # type: ignore[attr-defined]
            ended[key] = ended.get(key, 0) + 1
    assert ended == dict.fromkeys(got, 1)


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(program=statements(depth=2, failures=False))
def test_random_conditions_skip_exactly_the_branches_not_taken(program: tuple[Any, ...]) -> None:
    check(program, "inline")


@PROPERTY
@given(program=statements(depth=2, failures=True))
def test_random_conditions_and_failures_end_as_predicted(program: tuple[Any, ...]) -> None:
    check(program, "inline")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=statements(depth=2, failures=True))
def test_random_conditions_and_failures_on_threads(program: tuple[Any, ...]) -> None:
    check(program, "threads")
