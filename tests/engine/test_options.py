"""Run options are defined once (``legato.engine.options``): each field documented and
checked in one place, a bad value refused with a ``ParameterError`` naming the option, and
the same fields taken as keywords by ``run``, ``start``, ``resume`` (checked by mypy, listed
in their signatures) or as one object, built directly or from a mapping (a JSON body)."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from gated_pipelines import gated

import legato
from legato.config import load_settings
from legato.engine import options as options_module
from legato.engine.options import CommonOptions, ResumeOptions, RunOptions
from legato.engine.run import prepare
from legato.engine.storage import open_storage
from legato.errors import ParameterError
from legato.executors.inline import InlineExecutor
from legato.model.specs import FailurePolicy
from legato.testing import EventRecorder, FakeClock

OPTION_CLASSES = (CommonOptions, RunOptions, ResumeOptions)


def _names(cls: type[CommonOptions]) -> list[str]:
    return [spec.name for spec in fields(cls)]


def test_every_option_has_one_check_and_one_docstring() -> None:
    assert set(options_module._CHECKS) == set(_names(RunOptions)) | set(_names(ResumeOptions))
    tree = ast.parse(Path(options_module.__file__).read_text())
    declared: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in {c.__name__ for c in OPTION_CLASSES}:
            assert ast.get_docstring(node), node.name
            body = node.body
            for field, after in zip(body, [*body[1:], None], strict=True):
                if isinstance(field, ast.AnnAssign):
                    assert isinstance(field.target, ast.Name)
                    declared.append(field.target.id)
                    assert isinstance(after, ast.Expr), f"{field.target.id} has no docstring"
                    assert isinstance(after.value, ast.Constant)
                    assert isinstance(after.value.value, str)
    assert sorted(declared) == sorted(options_module._CHECKS)  # each field declared once


@pytest.mark.parametrize(
    ("cls", "name", "value", "fragment"),
    [
        (RunOptions, "executor", "quantum", "unknown executor 'quantum'"),
        (RunOptions, "executor", 3, "unknown executor 3"),
        (RunOptions, "listeners", "progress", "a list of listeners"),
        (RunOptions, "listeners", [object()], "no on_events(events) method"),
        (RunOptions, "clock", 12.0, "is no clock"),
        (RunOptions, "seed", "7", "a whole number"),
        (RunOptions, "seed", True, "a whole number"),
        (RunOptions, "store", "postgres", "unknown store 'postgres'"),
        (RunOptions, "store", 0, "unknown store 0"),
        (RunOptions, "profile", 1, "expected a profile name"),
        (RunOptions, "echo_logs", "yes", "true or false"),
        (RunOptions, "failure_policy", "stop", "unknown failure policy 'stop'"),
        (RunOptions, "run_id", "no spaces", "run id 'no spaces' is not allowed"),
        (RunOptions, "run_id", "x" * 65, "is not allowed"),
        (RunOptions, "cache", None, "true or false"),
        (RunOptions, "refresh", 3, "task names"),
        (RunOptions, "refresh", ["a", 1], "task names are strings"),
        (ResumeOptions, "pipeline", "train", "expected a @pipeline"),
        (ResumeOptions, "stale_after", -1, "seconds >= 0"),
        (ResumeOptions, "stale_after", float("nan"), "seconds >= 0"),
    ],
)
def test_a_bad_value_is_refused_naming_the_option(
    cls: type[CommonOptions], name: str, value: Any, fragment: str
) -> None:
    with pytest.raises(ParameterError, match=rf"^option '{name}': ") as caught:
        cls(**{name: value})
    assert fragment in str(caught.value)
    with pytest.raises(ParameterError, match=rf"^option '{name}': "):
        cls.from_mapping({name: value})


def test_values_are_kept_in_one_form() -> None:
    recorder = EventRecorder()
    options = RunOptions(
        failure_policy="fail_fast", listeners=[recorder], refresh="train", executor="inline"
    )
    assert options.failure_policy is FailurePolicy.FAIL_FAST
    assert options.listeners == (recorder,)
    assert options.refresh == frozenset({"train"})
    assert RunOptions(refresh=["a", "b", "a"]).refresh == frozenset({"a", "b"})
    assert RunOptions(refresh=[]).refresh is False
    assert ResumeOptions(stale_after=2).stale_after == 2.0
    executor = InlineExecutor()
    assert RunOptions(executor=executor).executor is executor
    with pytest.raises(AttributeError):
        options.cache = False  # type: ignore[misc]


def test_options_from_a_json_body() -> None:
    body = {
        "executor": "inline",
        "store": False,
        "failure_policy": "keep_going",
        "refresh": ["train", "score"],
        "cache": True,
        "run_id": "nightly-2026-12-01",
        "profile": "prod",
        "seed": 7,
        "echo_logs": False,
    }
    options = RunOptions.from_mapping(body)
    assert options.refresh == frozenset({"train", "score"})
    assert options.failure_policy is FailurePolicy.KEEP_GOING
    assert options == RunOptions(**body)
    assert ResumeOptions.from_mapping({"stale_after": 5, "executor": "threads"}) == ResumeOptions(
        stale_after=5.0, executor="threads"
    )
    assert RunOptions.from_mapping({}) == RunOptions()


@pytest.mark.parametrize(
    ("cls", "body", "message"),
    [
        (RunOptions, {"executr": "inline"}, "unknown option 'executr' (did you mean 'executor'?)"),
        (RunOptions, {"stale_after": 3}, "unknown option 'stale_after'"),
        (ResumeOptions, {"cache": False}, "unknown option 'cache'"),
        (ResumeOptions, {"refresh": ["a"]}, "unknown option 'refresh'"),
        (RunOptions, {1: True}, "unknown option 1"),
        (RunOptions, ["executor"], "options must be a mapping"),
    ],
)
def test_a_body_with_an_unknown_option_is_refused(
    cls: type[CommonOptions], body: Any, message: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        cls.from_mapping(body)
    assert message in str(caught.value)


@pytest.mark.usefixtures("ledger")
def test_keywords_and_an_options_object_mix_and_keywords_win(tmp_path: Path) -> None:
    params = {"flag": str(tmp_path / "absent")}
    base = RunOptions(store=False, executor="threads", run_id="base-run")
    recorder = EventRecorder()
    result = legato.run(gated, params, base, executor="inline", listeners=[recorder])
    assert result.ok
    assert result.run_id == "base-run"
    assert result.record.executor == "inline"
    assert recorder.events
    result = legato.run(gated, params=params, options=base)
    assert result.record.executor == "threads"
    handle = legato.start(gated, params, base, run_id="started")
    assert handle.wait(30).run_id == "started"
    loop = prepare(gated, params, executor="inline", clock=FakeClock(), store=False)
    assert loop.executor.name == "inline"


def test_bad_options_raise_before_any_run_exists(tmp_path: Path) -> None:
    params = {"flag": str(tmp_path / "absent")}
    with pytest.raises(ParameterError, match="did you mean 'executor'"):
        legato.run(gated, params, executr="inline")  # type: ignore[call-arg]
    with pytest.raises(ParameterError, match="option 'store'"):
        legato.start(gated, params, store="nowhere")
    with pytest.raises(ParameterError, match="must be a RunOptions, not ResumeOptions"):
        legato.run(gated, params, ResumeOptions())  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="unknown option 'cache'"):
        legato.resume("any", cache=False)  # type: ignore[call-arg]
    assert open_storage(load_settings()).runs.list_runs() == []


@pytest.mark.parametrize(
    ("function", "cls"),
    [
        (legato.run, RunOptions),
        (legato.start, RunOptions),
        (prepare, RunOptions),
        (legato.resume, ResumeOptions),
    ],
)
def test_signatures_list_every_option(function: Any, cls: type[CommonOptions]) -> None:
    signature = inspect.signature(function)
    keyword_only = [
        p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keyword_only == _names(cls)
    assert signature.parameters["options"].default is None
    assert all(signature.parameters[spec.name].default == spec.default for spec in fields(cls))
    assert function.__doc__


TYPED_CALLS = """
import legato
from legato import RunOptions, pipeline

@pipeline
def p(x: int = 1) -> int:
    return x

legato.run(p, {"x": 1}, executor="threads", store=False, refresh={"a"})
legato.run(p, params={"x": 1}, cache=False)
legato.run(p, None, RunOptions(store="memory"), seed=3)
handle = legato.start(p, {"x": 1}, executor="inline", failure_policy="fail_fast")
legato.resume("run", pipeline=p, stale_after=1.0, echo_logs=False)
legato.start(p, executr="threads")  # error
legato.run(p, cache="no")  # error
legato.resume("run", cache=False)  # error
legato.run(p, {}, RunOptions(), "threads")  # error
"""


def test_mypy_checks_the_keywords_against_the_options(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    source = tmp_path / "calls.py"
    source.write_text(TYPED_CALLS)
    src = Path(legato.__file__).parents[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(source),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(src)},
        check=False,
        cwd=tmp_path,
    )
    errors = [line for line in done.stdout.splitlines() if ": error: " in line]
    expected = [str(n) for n, line in enumerate(TYPED_CALLS.splitlines(), 1) if "# error" in line]
    assert [line.split(":")[1] for line in errors] == expected, done.stdout
    assert 'Unexpected keyword argument "executr"' in errors[0]
    assert 'did you mean "executor"' in errors[0]
