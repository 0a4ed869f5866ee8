"""``task.map`` over lists known at run time or written in the pipeline, on every executor."""

from __future__ import annotations

import pytest
from fanout_tasks import (
    add,
    collect,
    double,
    inc,
    inc_except_two,
    not_a_list,
    source,
    split,
    total,
)
from runchecks import assert_all_terminal, describe, make_executor

import legato
from legato import RunState, TaskState, pipeline, unmapped

pytestmark = pytest.mark.timeout(60)


@pipeline
def inc_all(n: int = 3) -> tuple[int, list[int]]:
    incremented = inc.map(source(n))
    return total(incremented), collect(incremented)


@pipeline
def literal_list() -> list[int]:
    return collect(inc.map([10, 20, 30]))


@pipeline
def over_a_scalar() -> int:
    return total(inc.map(not_a_list()))


@pipeline
def with_unmapped(n: int = 4) -> list[int]:
    return collect(add.map(source(n), unmapped(100)))


@pipeline
def map_of_a_map(n: int = 5) -> list[int]:
    return collect(double.map(inc.map(source(n))))


@pipeline
def over_an_item(n: int = 7) -> tuple[list[int], list[int]]:
    evens, odds = split(n)
    return collect(inc.map(evens)), collect(double.map(odds))


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_fan_out_over_a_runtime_list(executor: str, n: int) -> None:
    result = legato.run(inc_all, {"n": n}, executor=make_executor(executor))

    assert result.state is RunState.SUCCEEDED, describe(result)
    assert result.output == (n * (n + 1) // 2, list(range(1, n + 1)))  # order preserved
    group = result.tasks["inc"]
    assert group.mapped
    assert group.items == n
    assert group.state is TaskState.SUCCEEDED
    items = [k for k, t in result.tasks.items() if t.parent == "inc"]
    assert items == [f"inc[{i}]" for i in range(n)]
    assert all(result.tasks[k].state is TaskState.SUCCEEDED for k in items)


def test_map_over_a_list_literal(executor: str) -> None:
    result = legato.run(literal_list, executor=make_executor(executor))

    assert result.output == [11, 21, 31]


def test_map_over_something_that_is_not_a_list_fails_the_map(executor: str) -> None:
    result = legato.run(over_a_scalar, executor=make_executor(executor))

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    record = result.tasks["inc"]
    assert record.state is TaskState.FAILED, describe(result)
    assert record.error is not None
    assert record.error.kind == "input"
    assert "inc.map(...)" in record.reason
    assert "list" in record.reason
    assert result.tasks["total"].state is TaskState.UPSTREAM_FAILED


def test_unmapped_goes_whole_to_every_item(executor: str) -> None:
    result = legato.run(with_unmapped, executor=make_executor(executor))

    assert result.output == [100, 101, 102, 103]


def test_map_over_a_mapped_result(executor: str) -> None:
    result = legato.run(map_of_a_map, executor=make_executor(executor))

    assert result.output == [2, 4, 6, 8, 10]
    assert result.tasks["double"].items == 5


def test_map_over_an_item_of_a_tuple_output(executor: str) -> None:
    result = legato.run(over_an_item, executor=make_executor(executor))

    assert result.output == ([1, 3, 5, 7], [2, 6, 10])


@pipeline
def one_item_fails() -> int:
    return total(inc_except_two.map(source(4)))


def test_a_failed_item_fails_the_map_and_the_others_finish(executor: str) -> None:
    result = legato.run(one_item_fails, executor=make_executor(executor))

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    items = {k: t.state for k, t in result.tasks.items() if t.parent == "inc_except_two"}
    assert items == {
        "inc_except_two[0]": TaskState.SUCCEEDED,
        "inc_except_two[1]": TaskState.SUCCEEDED,
        "inc_except_two[2]": TaskState.FAILED,
        "inc_except_two[3]": TaskState.SUCCEEDED,
    }
    assert result.tasks["inc_except_two"].state is TaskState.FAILED
    assert "1 of 4 items failed" in result.tasks["inc_except_two"].reason
    assert result.tasks["total"].state is TaskState.UPSTREAM_FAILED
    assert [f.task for f in result.failures()] == ["inc_except_two[2]"]
