"""From a graph to a plan: downstream lists, outputs a map splits, capacity checks."""

from __future__ import annotations

import pytest

import legato
from legato import Capacity, FailurePolicy, PlanError, Resources, task, unmapped
from legato.engine.plan import build_plan, check_capacity

GiB = 1024**3


@task
def source() -> list[int]:
    return [1, 2, 3]


@task
def pair() -> tuple[list[int], list[int]]:
    return [1], [2]


@task
def double(x: int) -> int:
    return 2 * x


@task
def add(a: object, b: object) -> str:
    return f"{a}{b}"


@legato.pipeline(failure_policy="fail_fast")
def diamond() -> str:
    s = source()
    left = double.map(s)
    right = add(s, s)  # reads the same output twice: one edge
    return add(left, right)


@legato.pipeline
def indexed() -> object:
    both = pair()
    return double.map(both[0]), add(both, 1), double.map([1, 2]), add.map([1], unmapped(both))


def test_downstream_lists_follow_the_edges() -> None:
    plan = build_plan(diamond.graph, {})
    nodes = plan.nodes
    assert list(nodes) == ["source", "double", "add", "add_2"]
    assert nodes["source"].downstream == ("double", "add")
    assert nodes["double"].downstream == ("add_2",)
    assert nodes["add"].downstream == ("add_2",)
    assert nodes["add_2"].downstream == ()
    assert nodes["add"].upstream == ("source",)
    assert nodes["add_2"].upstream == ("double", "add")
    # Every downstream list is the inverse of the upstream lists.
    edges = {(up, k) for k, n in nodes.items() for up in n.upstream}
    assert edges == {(k, down) for k, n in nodes.items() for down in n.downstream}


def test_a_map_over_a_whole_output_splits_it_and_nothing_else_does() -> None:
    plan = build_plan(diamond.graph, {})
    assert plan.nodes["source"].split_output
    assert not plan.nodes["double"].split_output
    assert not plan.nodes["add"].split_output
    other = build_plan(indexed.graph, {})
    # A map over out[0] or over a literal, and an unmapped() output, split nothing.
    assert not any(n.split_output for n in other.nodes.values())
    assert other.nodes["double"].mapped is not None
    assert other.nodes["add_2"].mapped is not None


def test_amounts_are_precomputed_from_the_task_resources() -> None:
    heavy = double.with_options(
        name="heavy", resources=Resources(cpus=2, memory="1GiB", gpus=1, custom={"db": 1})
    )

    @legato.pipeline
    def p() -> int:
        return heavy(1)

    node = build_plan(p.graph, {}).nodes["heavy"]
    assert node.amounts == {"cpus": 2.0, "memory": float(GiB), "gpus": 1.0, "db": 1.0}
    assert build_plan(diamond.graph, {}).nodes["source"].amounts == {"cpus": 1.0}


def test_the_plan_takes_the_run_failure_policy_over_the_pipeline_one() -> None:
    assert build_plan(diamond.graph, {}).failure_policy is FailurePolicy.FAIL_FAST
    plan = build_plan(diamond.graph, {"x": 1}, FailurePolicy.KEEP_GOING)
    assert plan.failure_policy is FailurePolicy.KEEP_GOING
    assert plan.params == {"x": 1}
    assert plan.pipeline == "diamond"


def _single(resources: Resources) -> legato.Pipeline[[], int]:
    big = double.with_options(name="big", resources=resources)

    @legato.pipeline
    def needs() -> int:
        return big(1)

    return needs


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (Resources(cpus=3), "task 'big' asks for 3 CPUs but the threads executor can offer "
                            "at most 2 CPUs"),
        (Resources(cpus=1, gpus=2), "asks for 2 GPUs but the threads executor can offer at most "
                                    "1 GPU"),
        (Resources(memory="8GiB"), "asks for 8 GiB of memory but the threads executor can offer "
                                   "at most 4 GiB of memory"),
        (Resources(custom={"db": 2}), "asks for 2 of 'db' but the threads executor can offer at "
                                      "most 1 of 'db'"),
        (Resources(custom={"licence": 1}), "asks for 1 of 'licence' but the threads executor can "
                                           "offer at most 0 of 'licence'"),
    ],
)  # fmt: skip
def test_a_task_that_can_never_fit_is_a_plan_error(resources: Resources, message: str) -> None:
    capacity = Capacity(cpus=2, memory=4 * GiB, gpus=1, custom={"db": 1}, slots=2)
    plan = build_plan(_single(resources).graph, {})
    with pytest.raises(PlanError) as caught:
        check_capacity(plan, capacity, "threads")
    error = caught.value
    assert message in str(error)
    assert error.task == "big"
    assert error.pipeline == "needs"
    assert error.location is not None
    assert error.location.filename == __file__
    assert "Capacity(" in error.fix


def test_a_task_that_fits_exactly_passes() -> None:
    capacity = Capacity(cpus=2, memory=4 * GiB, gpus=1, custom={"db": 1})
    resources = Resources(cpus=2, memory="4GiB", gpus=1, custom={"db": 1})
    check_capacity(build_plan(_single(resources).graph, {}), capacity, "threads")


def test_run_rejects_an_impossible_task_before_any_run_exists() -> None:
    from legato.testing import EventRecorder

    recorder = EventRecorder()
    executor = legato.InlineExecutor(capacity=Capacity(cpus=1, memory=GiB))
    with pytest.raises(PlanError, match="asks for 3 CPUs"):
        legato.run(_single(Resources(cpus=3)), executor=executor, listeners=[recorder])
    assert recorder.events == []
