"""``@task``: typed, frozen options; outside a pipeline a task is just its function."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import random
from typing import Tuple  # noqa: UP035 - the old spelling must be understood too

import authoring_pipelines as ap
import pytest

import legato
from legato import Capacity, DefinitionError, Resources, RetryPolicy, task, unmapped
from legato.model.specs import TaskOptions, TaskSpec, parse_memory

# ---------------------------------------------------------------- outside a pipeline


def test_a_task_called_outside_a_pipeline_runs_its_function() -> None:
    assert ap.inc(1) == 2
    assert ap.add(2, y=3) == 5
    assert ap.pair(4) == (4, "#4")
    assert ap.train(7) == 7


def test_a_task_keeps_the_functions_identity() -> None:
    assert isinstance(ap.inc, legato.Task)
    assert ap.inc.__name__ == "inc"
    assert ap.inc.__module__ == "authoring_pipelines"
    assert ap.inc.__wrapped__ is ap.inc.fn
    assert str(inspect.signature(ap.add)) == "(x: 'int', y: 'int') -> 'int'"
    assert repr(ap.inc) == "<task inc>"
    assert ap.inc.name == "inc"


def test_map_outside_a_pipeline_runs_eagerly() -> None:
    assert ap.inc.map([1, 2, 3]) == [2, 3, 4]
    assert ap.add.map([1, 2], [10, 20]) == [11, 22]
    assert ap.add.map([1, 2], 5) == [6, 7]
    assert ap.total.map([[1, 2], [3]]) == [3, 3]
    assert ap.scale.map(x=range(3), factor=unmapped(2), offset=1) == [1, 3, 5]
    # a tuple is a record given whole, not a list to map over
    assert ap.label.map([1, 2], ("a", "b")) == ["('a', 'b')=1", "('a', 'b')=2"]


def test_eager_map_rejects_what_the_pipeline_map_rejects() -> None:
    with pytest.raises(ValueError, match=r"lengths \[2, 3\]"):
        ap.add.map([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"lengths \[\]"):
        ap.inc.map(1)
    with pytest.raises(ValueError, match=r"lengths \[\]"):
        ap.total.map(unmapped([1, 2]))


# ------------------------------------------------------------------------- options


def test_every_option_is_typed_and_kept() -> None:
    options = ap.train.options
    assert isinstance(options, TaskOptions)
    assert options.name == "train_model"
    assert ap.train.name == "train_model"
    assert options.retry == RetryPolicy(
        attempts=4, delay=0.5, backoff=3.0, max_delay=10.0, jitter=0.2
    )
    assert options.timeout == 60
    assert options.resources.cpus == 2
    assert options.resources.memory == 512 * 1024**2
    assert options.resources.gpus == 0
    assert options.resources.custom == {"licence": 1}
    assert options.tags == frozenset({"ml", "nightly"})
    assert options.resources.amounts() == {
        "cpus": 2.0,
        "memory": float(512 * 1024**2),
        "licence": 1.0,
    }


def test_defaults() -> None:
    options = ap.inc.options
    assert options.name == "inc"
    assert options.retry == RetryPolicy()
    assert options.retry.attempts == 1
    assert options.timeout is None
    assert options.resources == Resources()
    assert options.resources.amounts() == {"cpus": 1.0}
    assert options.tags == frozenset()


def test_retries_is_short_for_a_policy_with_default_delays() -> None:
    @task(retries=2)
    def flaky() -> None: ...

    assert flaky.options.retry == RetryPolicy(attempts=3)
    assert flaky.options.retry.delay == 1.0
    assert flaky.options.retry.backoff == 2.0
    assert flaky.options.retry.jitter == 0.1


def test_retry_on_takes_one_class_or_a_tuple() -> None:
    one = RetryPolicy(retry_on=ConnectionError)
    assert one.retry_on == (ConnectionError,)
    both = RetryPolicy(retry_on=(ConnectionError, TimeoutError))
    assert both.retry_on_names == {"builtins.ConnectionError", "builtins.TimeoutError"}
    assert RetryPolicy(retry_on=()).retry_on == ()  # retry only timeouts


def test_exponential_backoff_with_jitter_and_a_cap() -> None:
    steady = RetryPolicy(attempts=6, delay=1.0, backoff=2.0, max_delay=5.0, jitter=0.0)
    rng = random.Random(0)
    assert [steady.delay_before(n, rng) for n in range(2, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittery = RetryPolicy(attempts=3, delay=10.0, backoff=1.0, jitter=0.5)
    delays = [jittery.delay_before(2, rng) for _ in range(200)]
    assert all(5.0 <= d <= 15.0 for d in delays)
    assert len(set(delays)) > 100  # spread out, not in lock-step


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (2048, 2048),
        (1.5e3, 1500),
        ("512MiB", 512 * 1024**2),
        ("4GB", 4 * 1000**3),
        ("1.5 GiB", int(1.5 * 1024**3)),
        ("64gib", 64 * 1024**3),
        ("10k", 10_000),
        ("7", 7),
    ],
)
def test_memory_sizes(text: int | float | str, expected: int) -> None:
    assert parse_memory(text) == expected
    assert Resources(memory=text).memory == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["lots", "5 parsecs", "-1GiB", "", -1, float("inf"), True, None])
def test_bad_memory_sizes(bad: object) -> None:
    with pytest.raises(DefinitionError, match="memory"):
        parse_memory(bad)  # type: ignore[arg-type]


def test_fixed_output_counts_from_annotations() -> None:
    def three() -> tuple[int, str, float]: ...
    def old_style() -> Tuple[int, int]: ...  # noqa: UP006
    def any_length() -> tuple[int, ...]: ...
    def forward() -> tuple[Later, Later]: ...  # type: ignore[name-defined]  # noqa: F821

    assert task(three).spec.outputs == 3
    assert task(old_style).spec.outputs == 2
    assert task(any_length).spec.outputs is None
    assert task(forward).spec.outputs == 2  # unresolvable names: counted from the text
    assert task(outputs=3)(any_length).spec.outputs == 3


# -------------------------------------------------------------------- with_options


def test_with_options_returns_a_changed_copy() -> None:
    original = ap.inc.options
    changed = ap.inc.with_options(
        name="inc_big",
        retries=3,
        timeout=9.5,
        resources=Resources(cpus=4, memory="1GiB"),
        tags=["heavy"],
    )
    assert isinstance(changed, legato.Task)
    assert changed is not ap.inc
    assert changed.fn is ap.inc.fn
    assert changed.options == TaskOptions(
        name="inc_big",
        retry=RetryPolicy(attempts=4),
        timeout=9.5,
        resources=Resources(cpus=4, memory=1024**3),
        tags=frozenset({"heavy"}),
    )
    assert changed(1) == 2
    # the original is untouched
    assert ap.inc.options is original
    assert ap.inc.options == TaskOptions(name="inc")


def test_with_options_keeps_what_is_not_given() -> None:
    changed = ap.train.with_options(timeout=5)
    assert changed.options == dataclasses.replace(ap.train.options, timeout=5)
    retried = ap.train.with_options(retries=1)
    # only the count changes: the task's own delays are kept
    assert retried.options.retry == dataclasses.replace(ap.train.options.retry, attempts=2)
    assert retried.spec.outputs == ap.train.spec.outputs


def test_with_options_tags_are_validated_too() -> None:
    with pytest.raises(DefinitionError, match="tags of task 'inc'"):
        ap.inc.with_options(tags="nightly")


# --------------------------------------------------------------------------- frozen


def test_specs_and_options_are_frozen() -> None:
    spec = ap.train.spec
    assert isinstance(spec, TaskSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.options = TaskOptions(name="x")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.options.timeout = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.options.retry.attempts = 10  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.options.resources.cpus = 64  # type: ignore[misc]
    with pytest.raises(AttributeError):
        spec.options.tags.add("x")  # type: ignore[attr-defined]
    assert spec.options.timeout == 60


def test_custom_resources_cannot_be_changed_in_place() -> None:
    resources = ap.train.options.resources
    with pytest.raises(TypeError):
        resources.custom["licence"] = 100  # type: ignore[index]
    given = {"licence": 1.0}
    copy = Resources(custom=given)
    given["licence"] = 50.0  # the caller's dict is copied, not shared
    assert copy.custom == {"licence": 1.0}
    capacity = Capacity(cpus=2, memory="1GiB", custom={"licence": 2})
    assert capacity.memory == 1024**3
    with pytest.raises(TypeError):
        capacity.custom["licence"] = 3  # type: ignore[index]


def test_specs_survive_pickling_and_compare_by_value() -> None:
    # Resources travel to worker processes inside every call.
    resources = Resources(cpus=0.5, memory="2GiB", gpus=1, custom={"db": 2})
    again = pickle.loads(pickle.dumps(resources))
    assert again == resources
    assert dict(again.custom) == {"db": 2}
    assert hash(again) == hash(resources)
    options = ap.train.options
    assert pickle.loads(pickle.dumps(options)) == options
    capacity = Capacity(cpus=4, memory=2**30, custom={"db": 1}, slots=2)
    assert pickle.loads(pickle.dumps(capacity)) == capacity
    assert dataclasses.replace(resources, cpus=1).custom == {"db": 2}


def test_capacity_is_validated_like_resources() -> None:
    with pytest.raises(DefinitionError, match="slots"):
        Capacity(cpus=1, memory=0, slots=0)
    with pytest.raises(DefinitionError, match="cpus"):
        Capacity(cpus=-1, memory=0)
    with pytest.raises(DefinitionError, match="custom"):
        Capacity(cpus=1, memory=0, custom={"db": -1})
