"""``-p name=value``: converted to the pipeline's annotated types; mistakes are usage errors
that name the parameter, the type expected and the value given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import pytest
from cli_pipelines import Mode, greet, typed
from cli_record_params import Config, Limits, Model

from legato.cli.exits import OK, USAGE, CommandError
from legato.cli.params import NoFormError, describe_type, parse_params, parse_value
from legato.config import load_settings
from legato.engine.storage import open_storage

from .conftest import RESOURCES, Invoke, run_id_of, target

RECORDS = RESOURCES / "cli_record_params.py"


@pytest.mark.parametrize(
    ("text", "annotation", "expected"),
    [
        ("42", int, 42),
        (" -3 ", int, -3),
        ("0.25", float, 0.25),
        ("1e3", float, 1000.0),
        ("true", bool, True),
        ("No", bool, False),
        ("1", bool, True),
        ("off", bool, False),
        ("hello world", str, "hello world"),
        ("", str, ""),
        ("data/x.csv", Path, Path("data/x.csv")),
        ("[1, 2, 3]", list[int], [1, 2, 3]),
        ('["a", "b"]', list[str], ["a", "b"]),
        ('["a.csv"]', list[Path], [Path("a.csv")]),
        ("[1, 2]", tuple[int, ...], (1, 2)),
        ('[1, "x"]', tuple[int, str], (1, "x")),
        ('{"a": 1, "b": 2.5}', dict[str, float], {"a": 1.0, "b": 2.5}),
        ("2024-05-01", dt.date, dt.date(2024, 5, 1)),
        ("2024-05-01T12:30:00", dt.datetime, dt.datetime(2024, 5, 1, 12, 30)),
        ("12:30", dt.time, dt.time(12, 30)),
        ("none", int | None, None),
        ("null", int | None, None),
        ("7", int | None, 7),
        ("FAST", Mode, Mode.FAST),
        ("slow", Mode, Mode.SLOW),
        ("b", Literal["a", "b"], "b"),
        ("3", Literal[1, 2, 3], 3),
        ("anything", Any, "anything"),
    ],
)
def test_values_are_converted_to_the_annotated_type(
    text: str, annotation: Any, expected: Any
) -> None:
    value = parse_value(text, annotation)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "annotation"),
    [
        ("x", int),
        ("1.5", int),
        ("maybe", bool),
        ("abc", float),
        ("[1, 2", list[int]),
        ('{"a": 1}', list[int]),
        ('["x"]', list[int]),
        ("[true]", list[int]),
        ("[1]", tuple[int, int]),
        ("2024-13-01", dt.date),
        ("medium", Mode),
        ("c", Literal["a", "b"]),
        ("[1]", dict[str, int]),
        ("abc", int | None),
    ],
)
def test_bad_values_raise_value_error(text: str, annotation: Any) -> None:
    with pytest.raises(ValueError):
        parse_value(text, annotation)


def test_every_parameter_kind_of_a_pipeline() -> None:
    params = parse_params(
        typed,
        [
            "n=3",
            "rate=0.1",
            "flag=yes",
            "path=in/data.csv",
            "sizes=[4, 5]",
            "when=2024-02-29",
            "at=2024-02-29T08:00:00",
            "mode=slow",
            "maybe=none",
            "choice=b",
            'weights={"x": 2}',
            "untyped=free text",
        ],
    )
    assert params == {
        "n": 3,
        "rate": 0.1,
        "flag": True,
        "path": Path("in/data.csv"),
        "sizes": [4, 5],
        "when": dt.date(2024, 2, 29),
        "at": dt.datetime(2024, 2, 29, 8),
        "mode": Mode.SLOW,
        "maybe": None,
        "choice": "b",
        "weights": {"x": 2.0},
        "untyped": "free text",
    }


def test_a_value_may_contain_equals_signs_and_a_name_may_use_hyphens() -> None:
    assert parse_params(greet, ["name=a=b", "times=2"]) == {"name": "a=b", "times": 2}
    assert parse_params(typed, ["n=1", "test-size=0.3"]) == {"n": 1, "test_size": 0.3}


def test_unknown_parameter_lists_the_pipelines_parameters() -> None:
    with pytest.raises(CommandError) as caught:
        parse_params(greet, ["nmae=x"])
    assert caught.value.code == USAGE
    message = caught.value.message
    assert "has no parameter 'nmae'" in message
    assert "did you mean 'name'?" in message
    assert "name: str = 'world', times: int = 1" in message


def test_bad_value_names_the_parameter_the_type_and_the_value() -> None:
    with pytest.raises(CommandError) as caught:
        parse_params(greet, ["times=many"])
    assert caught.value.code == USAGE
    assert "parameter 'times' of pipeline 'greet' expects an integer, not 'many'" in (
        caught.value.message
    )


@pytest.mark.parametrize(
    ("pairs", "fragment"),
    [
        (["name"], "give a parameter as -p name=value"),
        (["=x"], "give a parameter as -p name=value"),
        (["name=a", "name=b"], "given twice"),
    ],
)
def test_malformed_pairs(pairs: list[str], fragment: str) -> None:
    with pytest.raises(CommandError, match=fragment):
        parse_params(greet, pairs)


@pytest.mark.parametrize(
    ("annotation", "description"),
    [
        (int, "an integer"),
        (bool, "true or false (also yes/no, 1/0)"),
        (list[int], "a JSON list of integers, e.g. [1, 2]"),
        (list[str], 'a JSON list of text, e.g. ["a", "b"]'),
        (int | None, "an integer or none"),
        (Mode, "one of FAST, SLOW"),
        (dt.date, "an ISO date, e.g. 2024-05-01"),
        (Path, "a path"),
    ],
)
def test_types_are_described_for_people(annotation: Any, description: str) -> None:
    assert describe_type(annotation) == description


def test_a_typed_dict_is_a_json_object_whose_values_are_converted_nested_too() -> None:
    value = parse_value('{"name": "m", "limits": {"depth": 3, "rate": 1}, "tags": ["a"]}', Model)
    assert value == {"name": "m", "limits": {"depth": 3, "rate": 1.0}, "tags": ["a"]}
    assert type(value["limits"]["rate"]) is float
    assert parse_value('{"name": "m", "limits": {"depth": 3, "rate": 1}}', Model)["name"] == "m"
    assert (
        describe_type(Limits) == "a JSON object with the keys depth (an integer), rate (a number)"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"name": "m", "limits": {"depth": 3, "rate": 1}, "size": 2}', "no key 'size'"),
        ('{"name": "m"}', "key 'limits' is missing"),
        (
            '{"name": "m", "limits": {"depth": "deep", "rate": 1}}',
            "limits.depth must be an integer, not 'deep'",
        ),
        ('["m"]', "a JSON object is needed"),
    ],
)
def test_a_typed_dict_that_does_not_fit_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_value(text, Model)


def test_a_typed_dict_parameter_reaches_the_task_as_converted_data(cli: Invoke) -> None:
    given = '{"name": "m", "limits": {"depth": 3, "rate": 1}}'
    result = cli("run", target("shaped", RECORDS), "-p", f"model={given}")
    assert result.exit_code == OK, result.stderr
    run_id = run_id_of(result.stdout)
    stored = open_storage(load_settings()).runs.get_run(run_id).params
    assert stored == {"model": {"name": "m", "limits": {"depth": 3, "rate": 1.0}}}
    assert cli("artifacts", "get", run_id, "types_of", "-o", "-").stdout_bytes == (
        b'"dict(name=str:m, limits=dict(depth=int:3, rate=float:1.0))"'
    )


@pytest.mark.parametrize(
    ("name", "given", "fragment"),
    [
        ("configured", 'cfg={"lr": 0.5}', "parameter 'cfg' of pipeline 'configured' is a Config"),
        (
            "configured_many",
            'cfgs=[{"lr": 0.5}]',
            "parameter 'cfgs' of pipeline 'configured_many' (list[Config] | None) holds "
            "Config values",
        ),
    ],
)
def test_a_dataclass_parameter_is_refused_not_handed_over_as_text(
    cli: Invoke, name: str, given: str, fragment: str
) -> None:
    result = cli("run", target(name, RECORDS), "-p", given)
    assert result.exit_code == USAGE
    message = " ".join(result.stderr.split())
    assert fragment in message
    assert "(a dataclass), which a run cannot take" in message
    assert "Declare it as dict[str, Any] or a TypedDict" in message
    assert open_storage(load_settings()).runs.list_runs() == []  # nothing ran


def test_a_class_the_command_line_cannot_build_is_refused() -> None:
    with pytest.raises(NoFormError) as caught:
        parse_value('{"lr": 0.5}', Config)
    assert caught.value.annotation is Config
    with pytest.raises(NoFormError):
        parse_value('{"lr": 0.5}', Config | None)
    assert parse_value("none", Config | None) is None
