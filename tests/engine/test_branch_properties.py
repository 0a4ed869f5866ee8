"""Property test over random pipelines with random, nested conditions and random failures,
at the top level and inside a mapped sub-pipeline (every condition then decided per item;
the map itself inside a random condition or not):
every task ends in exactly one terminal state; a task is skipped exactly when a condition
around it chose the other branch (for that item; a task deciding a branch: when its own
condition is false), whatever failed meanwhile; a failure upstream makes a task on a branch
taken (or not yet decided) ``upstream_failed``; joins take the branch that ran; the events
obey the checker of event rules and fold into the same states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import branch_dags as bd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import legato
from legato import RunState, TaskState
from legato.engine.reducer import fold
from legato.model.items import item_key
from legato.model.states import TASK_TERMINAL
from legato.testing import EventRecorder, check_history

S, SK, F, UF = (
    TaskState.SUCCEEDED,
    TaskState.SKIPPED,
    TaskState.FAILED,
    TaskState.UPSTREAM_FAILED,
)


ITEMS = 3
"""How many items a mapped sub-pipeline of a random program has."""


@dataclass(frozen=True)
class Work:
    deps: tuple[int, ...]
    """Which visible outputs it reads (taken modulo how many there are)."""
    fail: bool = False


@dataclass(frozen=True)
class Branch:
    values: tuple[bool, ...]
    """What its condition task returns, for each item (at the top level: the first)."""
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
    values = st.tuples(*[st.booleans()] * ITEMS)
    branch = st.builds(Branch, values=values, deps=deps, then=inner, other=st.none() | inner)
    return st.lists(st.one_of(work, branch), min_size=1, max_size=4).map(tuple)


States = tuple[TaskState, ...]
"""How a task ends for each item (one item at the top level)."""


@dataclass
class Placed:
    """A value the body made, and how its task must end (for each item)."""

    out: Any
    state: States


def ending(scope: States, inputs: list[Placed], fails: bool = False) -> States:
    """How a task ends for each item, in a scope taken (S), not taken (SK) or undecidable
    (UF) for that item."""

    def one(i: int, where: TaskState) -> TaskState:
        if where is not S:
            return where
        if any(p.state[i] in (F, UF) for p in inputs):
            return UF
        return F if fails else S

    return tuple(one(i, where) for i, where in enumerate(scope))


class Model:
    """Traces a random program into the pipeline body it is called from, and predicts how
    each of its tasks ends: at the top level (``item`` None) or inside a mapped
    sub-pipeline, once per item, deciding its conditions per item."""

    def __init__(self) -> None:
        self.item: Any = None
        """Inside a mapped sub-pipeline, the placeholder of its item."""
        self.width = 1
        self.expected: dict[str, TaskState] = {}

    def keys(self, out: Any) -> list[str]:
        if self.item is None:
            return [out._node]
        return [item_key(out._node, str(i)) for i in range(ITEMS)]

    def place(self, out: Any, state: States, visible: list[Placed] | None = None) -> Placed:
        self.expected.update(zip(self.keys(out), state, strict=True))
        placed = Placed(out, state)
        if visible is not None:
            visible.append(placed)
        return placed

    def block(self, stmts: tuple[Any, ...], visible: list[Placed], scope: States) -> Placed | None:
        # Inside a mapped sub-pipeline every task reads the item, so each is a step of it.
        item = () if self.item is None else (self.item,)
        last = None
        for stmt in stmts:
            inputs = [visible[d % len(visible)] for d in stmt.deps] if visible else []
            values = tuple(i.out for i in inputs)
            if isinstance(stmt, Work):
                out = bd.work(stmt.fail, *item, *values)
                last = self.place(out, ending(scope, inputs, stmt.fail), visible)
                continue
            if self.item is None:
                out = bd.cond(stmt.values[0], *values)
            else:
                out = bd.cond_of(stmt.values, self.item, *values)
            condition = self.place(out, ending(scope, inputs))
            visible.append(condition)
            decided = ending(scope, [condition])  # S, SK (not taken above) or UF, per item
            value = stmt.values[: self.width]
            when = legato.when(condition.out)
            then_scope = tuple(
                d if d is not S else (S if v else SK) for d, v in zip(decided, value, strict=True)
            )
            self.place(when.decision, then_scope)
            with when:
                then = self.block(stmt.then, list(visible), then_scope)
            if stmt.other is None:
                continue
            otherwise = legato.otherwise()
            other_scope = tuple(
                d if d is not S else (SK if v else S) for d, v in zip(decided, value, strict=True)
            )
            self.place(otherwise.decision, other_scope)
            with otherwise:
                other = self.block(stmt.other, list(visible), other_scope)
            if then is None or other is None:
                continue  # a branch that ends in a when alone has no value to join
            joined = []
            for i, where in enumerate(scope):
                ran = then if then_scope[i] is S else other if other_scope[i] is S else None
                if where is not S:
                    joined.append(where)
                elif ran is None:
                    joined.append(UF)
                else:
                    joined.append(UF if ran.state[i] in (F, UF) else S)
            last = self.place(legato.one_of(then.out, other.out), tuple(joined), visible)
        return last


def build(program: tuple[Any, ...]) -> tuple[legato.Pipeline[..., Any], dict[str, TaskState]]:
    """A pipeline running ``program``, and how each of its tasks must end."""
    model = Model()

    @legato.pipeline
    def random_branches() -> Any:
        model.block(program, [], (S,))

    return random_branches, model.expected


def build_mapped(
    program: tuple[Any, ...], outer: bool | None = None
) -> tuple[legato.Pipeline[..., Any], dict[str, TaskState]]:
    """A pipeline mapping a sub-pipeline that runs ``program`` over ``ITEMS`` items, every
    condition decided per item, then reading every item's result; and how each task of
    each item must end. With ``outer``, the map is inside a condition that is ``outer``
    (the whole map skipped when it is false), joined with its other branch."""
    expected: dict[str, TaskState] = {}

    model = Model()
    model.width = ITEMS
    failed = []

    def body() -> Any:
        last = model.block(program, [], (S,) * ITEMS)
        result = model.place(
            bd.work(False, model.item, *(() if last is None else (last.out,))),
            ending((S,) * ITEMS, [] if last is None else [last]),
        )
        expected.update(model.expected)
        failed.append(any(s is not S for s in result.state))
        return result.out

    @legato.pipeline
    def each(item: int) -> Any:
        model.item = item  # a placeholder is handed to no plain function in a body
        return body()

    @legato.pipeline
    def random_items() -> Any:
        if outer is None:
            return bd.work(False, each.map(list(range(ITEMS))))
        with legato.when(bd.cond(outer)):
            results = each.map(list(range(ITEMS)))
        with legato.otherwise():
            other = bd.work(False)
        return bd.work(False, legato.one_of(results, other))

    _ = random_items.graph  # traced now: the body fills ``expected``
    if outer is None:
        expected["work"] = UF if failed[0] else S
        return random_items, expected
    if not outer:  # nothing of the map runs
        expected.update(dict.fromkeys(expected, SK))
    joined = UF if outer and failed[0] else S
    expected.update(
        cond=S,
        when=S if outer else SK,
        otherwise=SK if outer else S,
        work=SK if outer else S,
        one_of=joined,
        work_2=joined,
    )
    return random_items, expected


def check(
    program: tuple[Any, ...], executor: str, *, mapped: bool = False, outer: bool | None = None
) -> None:
    target, expected = build_mapped(program, outer) if mapped else build(program)
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


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(program=statements(depth=2, failures=True), outer=st.none() | st.booleans())
def test_random_conditions_inside_a_mapped_sub_pipeline_are_decided_per_item(
    program: tuple[Any, ...], outer: bool | None
) -> None:
    check(program, "inline", mapped=True, outer=outer)


@pytest.mark.exhaustive
@PROPERTY
@given(program=statements(depth=3, failures=True), outer=st.none() | st.booleans())
def test_random_conditions_per_item_many_and_deep(
    program: tuple[Any, ...], outer: bool | None
) -> None:
    check(program, "inline", mapped=True, outer=outer)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=statements(depth=2, failures=True))
def test_random_conditions_per_item_on_threads(program: tuple[Any, ...]) -> None:
    check(program, "threads", mapped=True)
