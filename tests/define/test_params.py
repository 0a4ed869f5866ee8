"""Pipeline parameters become run parameters: defaults fill in, values must be storable."""

from __future__ import annotations

import datetime as dt
import enum
import math
from pathlib import Path

import authoring_pipelines as ap
import broken_pipelines as broken
import pytest

import legato
from legato import ParameterError
from legato.model.events import RunStarted
from legato.testing import EventRecorder


class Colour(enum.Enum):
    RED = "red"


def test_defaults_fill_in() -> None:
    assert ap.with_params.bind_params({"rows": 2}) == {"rows": 2, "scale_by": 3, "name": "run"}
    assert ap.with_params.bind_params({"rows": 2, "name": "x"}) == {
        "rows": 2,
        "scale_by": 3,
        "name": "x",
    }
    assert ap.small.bind_params(None) == {"k": 2}


def test_run_parameters_reach_the_tasks_and_the_run_record() -> None:
    recorder = EventRecorder()
    result = legato.run(ap.with_params, {"rows": 2}, executor="inline", listeners=[recorder])
    assert result.ok
    assert result.output == "run=6"
    started = [e for e in recorder.events if isinstance(e, RunStarted)]
    assert len(started) == 1
    assert dict(started[0].params) == {"rows": 2, "scale_by": 3, "name": "run"}
    assert dict(result.record.params) == {"rows": 2, "scale_by": 3, "name": "run"}

    again = legato.run(ap.with_params, {"rows": 2, "scale_by": 10}, executor="inline")
    assert again.output == "run=20"


def test_a_parameter_can_be_the_pipeline_output() -> None:
    @legato.pipeline
    def echo(value: int = 1) -> object:
        ap.inc(value)
        return value

    assert legato.run(echo, {"value": 41}, executor="inline").output == 41


def test_pipeline_metadata() -> None:
    assert ap.small.name == "small"
    assert ap.small.description == "Exact renderings are asserted for this one."
    assert [p.name for p in ap.with_params.params] == ["rows", "scale_by", "name"]
    assert ap.small.failure_policy is legato.FailurePolicy.KEEP_GOING

    @legato.pipeline(name="renamed", failure_policy="fail_fast")
    def flow() -> object:
        return ap.inc(1)

    assert flow.name == "renamed"
    assert flow.graph.pipeline == "renamed"
    assert flow.failure_policy is legato.FailurePolicy.FAIL_FAST
    assert flow.graph.failure_policy is legato.FailurePolicy.FAIL_FAST


@pytest.mark.parametrize(
    "value",
    [
        "text",
        3,
        2.5,
        math.nan,
        True,
        None,
        [1, "a", None],
        (1, 2),
        {"nested": {"list": [1, 2.0], "flag": False}},
        Path("data/x.csv"),
        dt.date(2024, 1, 2),
        dt.datetime(2024, 1, 2, 3, 4),
        Colour.RED,
    ],
    ids=repr,
)
def test_storable_values_are_accepted(value: object) -> None:
    bound = broken.needs_params.bind_params({"rows": value})
    assert bound["rows"] is value


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"rows": object()}, "parameter rows (builtins.object)"),
        ({"rows": {1, 2}}, "parameter rows (builtins.set)"),
        ({"rows": {1: "a"}}, "parameter rows (key 1 is not a str)"),
        ({"rows": lambda: 1}, "parameter rows (builtins.function)"),
        ({"rows": [1, {"a": object()}]}, "parameter rows[1]['a'] (builtins.object)"),
        ({"rows": 1, "nope": 2}, "no parameter 'nope'"),
        ({"scale": 2.0}, "needs parameter 'rows'"),
    ],
    ids=["object", "set", "int-keys", "function", "nested", "unknown", "missing"],
)
def test_bad_values_name_the_parameter_and_the_fix(params: dict[str, object], named: str) -> None:
    with pytest.raises(ParameterError) as info:
        broken.needs_params.bind_params(params)
    text = str(info.value)
    assert named in text
    assert "pipeline 'needs_params'" in text
    assert "\n  fix: " in text
    assert not isinstance(info.value, legato.DefinitionError)  # fix the call, not the code


def test_a_pipeline_without_parameters_rejects_any() -> None:
    with pytest.raises(ParameterError, match=r"its parameters: none"):
        ap.same_task_twice.bind_params({"x": 1})


def test_start_validates_parameters_before_the_run_exists() -> None:
    recorder = EventRecorder()
    with pytest.raises(ParameterError):
        legato.start(ap.with_params, {}, executor="inline", listeners=[recorder])
    assert recorder.events == []
