"""Every way a pipeline body can be wrong is reported before a run exists, with an error that
names the task, points at the user's line and says how to fix it."""

from __future__ import annotations

import threading

import bad_definitions as bad
import broken_pipelines as broken
import pytest

import legato
from legato import Capacity, DefinitionError, ParameterError, PlanError, ThreadsExecutor
from legato.testing import EventRecorder

from .checks import assert_definition_error, marked_line

# (pipeline, marker kind, words the problem must contain)
TRACING_ERRORS = [
    # Python control flow or arithmetic on a task output
    (broken.uses_if, "if", ["'inc'", "tested for truth"]),
    (broken.uses_while, "while", ["'inc'", "tested for truth"]),
    (broken.uses_not, "not", ["'inc'", "tested for truth"]),
    (broken.uses_and, "and", ["'inc'", "tested for truth"]),
    (broken.uses_for, "for", ["'load'", "iterated"]),
    (broken.uses_list, "list", ["'load'", "iterated"]),
    (broken.uses_len, "len", ["'load'", "len()"]),
    (broken.uses_add, "add", ["'inc'", "arithmetic"]),
    (broken.uses_radd, "radd", ["'inc'", "arithmetic"]),
    (broken.uses_compare, "compare", ["'inc'", "control flow"]),
    (broken.uses_eq, "eq", ["'inc'", "control flow"]),
    (broken.uses_str, "str", ["'inc'", "string"]),
    (broken.uses_fstring, "fstring", ["'inc'", "f-string"]),
    (broken.uses_attribute, "attribute", ["'inc'", "attribute 'real'"]),
    (broken.uses_call, "call", ["'inc'", "called like a function"]),
    (broken.uses_in, "in", ["'load'", "control flow"]),
    (broken.uses_int, "int", ["'inc'"]),
    (broken.uses_slice, "slice", ["'load'", "slice"]),
    (broken.uses_setitem, "setitem", ["'load'", "assigned into"]),
    (broken.uses_path, "path", ["'inc'", "used as a file path"]),
    # ... on a run parameter
    (broken.param_in_if, "param_if", ["run parameter 'threshold'"]),
    (broken.param_indexed, "param_index", ["run parameter 'config'", "indexed"]),
    (broken.param_iterated, "param_for", ["run parameter 'xs'", "iterated"]),
    # plain (non-task) functions given a placeholder
    (broken.plain_function, "plain", ["describe()", "is not a task", "'inc'"]),
    (broken.plain_function_list, "plain_list", ["describe()", "is not a task", "'inc'"]),
    (broken.plain_function_keyword, "plain_keyword", ["describe()", "'inc'"]),
    # inside a sub-pipeline: the line is in the helper's body
    (broken.calls_broken_helper, "sub_len", ["'helper_with_len.load'", "len()"]),
    (broken.sub_pipeline_wrong_args, "sub_args", ["pipeline 'helper'", "too many"]),
    # names and arguments
    (broken.duplicate_names, "duplicate", ["'inc'", "broken_pipelines._other_inc"]),
    (broken.too_many_args, "arity", ["task 'inc'", "too many positional arguments"]),
    (broken.unknown_keyword, "unknown_kwarg", ["task 'inc'", "unexpected keyword argument 'y'"]),
    (broken.missing_argument, "missing_arg", ["task 'add'", "missing a required argument: 'y'"]),
    (broken.iterates_single_output, "unpack", ["'inc'", "iterated"]),
    (broken.set_of_outputs, "set", ["task 'total'", "set"]),
    (broken.output_as_key, "dict_key", ["task 'total'", "dict keyed by"]),
    (broken.no_tasks, "empty", ["pipeline 'no_tasks'", "calls no task"]),
    # fan-out
    (broken.map_over_nothing, "map_nothing", ["inc.map(...)", "nothing to map over"]),
    (broken.map_over_tuple, "map_tuple", ["inc.map(...)", "nothing to map over"]),
    (broken.map_different_lengths, "map_lengths", ["add.map(...)", "[2, 3]"]),
    (broken.map_different_lengths_of_map, "map_lengths_output", ["add.map(...)", "[2, 3]"]),
    # item keys
    (broken.keyed_twice, "keyed_duplicate", ["items 0 (1) and 2 (1) have the same key '1'"]),
    (broken.keyed_with_a_slash, "keyed_slash", ["item 0 (1) has the key 'x/1'", "'/'"]),
    (broken.keyed_too_long, "keyed_long", ["item 0 (1)", "65 characters long (at most 64)"]),
    (broken.keyed_by_a_list, "keyed_not_text", ["item 0 of argument 1", "a list ([1])"]),
    (broken.keyed_by_raising, "keyed_by_raises", ["raised ZeroDivisionError", "item 1 (2)"]),
    (broken.keyed_tuple, "keyed_tuple", ["inc.map(...) is keyed(...) around a tuple"]),
    (broken.keyed_task_output, "keyed_output", ["around the output of task 'load'"]),
    (broken.keyed_numbered_map, "keyed_numbered", ["around the output of task 'inc'"]),
    (broken.keyed_by_over_a_keyed_map, "keyed_by_inherited", ["by= would need"]),
    (broken.keyed_in_a_plain_call, "keyed_plain", ["task 'total' was called with keyed"]),
]

# Where the error names a task, its key is also on the error.
TASK_OF = {
    "if": "inc",
    "for": "load",
    "len": "load",
    "attribute": "inc",
    "plain": "inc",
    "sub_len": "helper_with_len.load",
    "duplicate": "inc",
    "arity": "inc",
    "missing_arg": "add",
    "set": "total",
    "map_lengths": "add",
    "keyed_duplicate": "inc",
    "keyed_output": "inc",
    "param_if": None,
    "param_index": None,
}


def _ids(case: tuple[object, str, list[str]]) -> str:
    return case[1]


@pytest.mark.parametrize("case", TRACING_ERRORS, ids=_ids)
def test_tracing_error_names_the_task_the_line_and_a_fix(
    case: tuple[legato.Pipeline[..., object], str, list[str]],
) -> None:
    flow, kind, words = case
    with pytest.raises(DefinitionError) as info:
        _ = flow.graph
    err = info.value
    assert type(err) is DefinitionError
    assert_definition_error(err, broken, kind, *words)
    assert err.pipeline == flow.name
    if kind in TASK_OF:
        assert err.task == TASK_OF[kind]


@pytest.mark.parametrize("case", TRACING_ERRORS, ids=_ids)
def test_a_broken_pipeline_never_creates_a_run(
    case: tuple[legato.Pipeline[..., object], str, list[str]],
) -> None:
    flow, kind, _ = case
    recorder = EventRecorder()
    with pytest.raises(DefinitionError) as info:
        legato.run(flow, executor="inline", listeners=[recorder])
    assert info.value.location is not None
    assert info.value.location.lineno == marked_line(broken, kind)
    assert recorder.events == []
    with pytest.raises(DefinitionError):
        legato.start(flow, executor="inline", listeners=[recorder])
    assert recorder.events == []


def test_keyed_around_unmapped_is_refused_where_it_is_written() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = broken.keyed_around_unmapped.graph
    assert "keyed() was given unmapped([1, 2])" in info.value.problem
    assert info.value.location is not None
    assert info.value.location.lineno == marked_line(broken, "keyed_unmapped")


def test_unmapped_refuses_a_keyed_list() -> None:
    with pytest.raises(DefinitionError, match="a list that names the items is mapped over"):
        legato.unmapped(legato.keyed([1, 2]))


def test_keyed_takes_a_function_as_by() -> None:
    with pytest.raises(DefinitionError, match="by= of keyed\\(\\) must be a function"):
        legato.keyed([1, 2], by="name")  # type: ignore[arg-type]


def test_the_error_is_raised_again_on_every_use() -> None:
    # A failed trace is not cached as an empty or partial graph.
    for _ in range(2):
        with pytest.raises(DefinitionError, match="tested for truth"):
            _ = broken.uses_if.graph


def test_the_message_shows_the_source_line() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = broken.uses_len.graph
    assert "return inc(len(numbers))" in str(info.value)
    assert "broken_pipelines.py:" in str(info.value)


def test_iterating_a_single_output_suggests_map_and_tuple_annotations() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = broken.iterates_single_output.graph
    assert ".map(" in info.value.fix
    assert "-> tuple[A, B]" in info.value.fix
    assert "outputs=N" in info.value.fix


def test_iterating_a_run_parameter_suggests_map() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = broken.param_iterated.graph
    assert "task.map(xs)" in info.value.fix


def test_duplicate_name_fix_says_how_to_rename() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = broken.duplicate_names.graph
    assert "name=" in info.value.fix


def test_wrong_arity_fix_shows_the_signature() -> None:
    with pytest.raises(DefinitionError) as info:
        _ = broken.missing_argument.graph
    assert "add(x: int, y: int)" in info.value.fix


def test_an_output_from_another_trace_is_rejected() -> None:
    broken.LEAKED.clear()
    _ = broken.leaks_an_output.graph
    assert len(broken.LEAKED) == 1
    with pytest.raises(DefinitionError) as info:
        _ = broken.uses_a_leaked_output.graph
    assert_definition_error(info.value, broken, "leaked", "task 'inc'", "another pipeline")


# ------------------------------------------------------------------------ resources


SMALL = Capacity(cpus=2, memory=2**30, slots=2)

RESOURCE_ERRORS = [
    (broken.wants_cpus, "cpus", "big_cpu", "8 CPUs", "2 CPUs"),
    (broken.wants_memory, "memory", "big_memory", "64 GiB of memory", "1 GiB of memory"),
    (broken.wants_gpu, "gpus", "needs_gpu", "1 GPU", "0 GPUs"),
    (broken.wants_licence, "custom", "needs_licence", "1 of 'licence'", "0 of 'licence'"),
    (broken.wants_cpus_in_map, "cpus_map", "big_cpu", "8 CPUs", "2 CPUs"),
]


@pytest.mark.parametrize("case", RESOURCE_ERRORS, ids=lambda case: case[1])
def test_resources_beyond_the_executor_are_a_plan_error(
    case: tuple[legato.Pipeline[..., object], str, str, str, str],
) -> None:
    flow, kind, task_name, asked, offered = case
    recorder = EventRecorder()
    threads_before = set(threading.enumerate())
    executor = ThreadsExecutor(capacity=SMALL)
    with pytest.raises(PlanError) as info:
        legato.run(flow, executor=executor, listeners=[recorder])
    err = info.value
    assert_definition_error(err, broken, kind, f"task {task_name!r}", asked, offered)
    assert err.task == task_name
    assert "threads executor" in err.problem
    assert "Capacity(" in err.fix
    # Nothing ran: no events, and the executor never started its worker threads.
    assert recorder.events == []
    started = set(threading.enumerate()) - threads_before
    assert not [t for t in started if t.name.startswith("legato")]


def test_a_plan_error_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError):
        legato.run(broken.wants_gpu, executor=ThreadsExecutor(capacity=SMALL))


def test_the_same_pipeline_runs_where_the_resources_exist() -> None:
    roomy = ThreadsExecutor(capacity=Capacity(cpus=8, memory=2**30, slots=1))
    result = legato.run(broken.wants_cpus, executor=roomy)
    assert result.ok
    assert result.output == 2


# ----------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"rows": 1, "colour": "red"}, ["has no parameter 'colour'", "rows, scale, labels"]),
        ({"rows": 1, "scael": 2.0}, ["has no parameter 'scael'", "did you mean 'scale'?"]),
        ({}, ["needs parameter 'rows'", "params={'rows': ...}"]),
        ({"rows": object()}, ["parameter rows (builtins.object)", "cannot be stored"]),
        ({"rows": {1, 2}}, ["parameter rows (builtins.set)", "cannot be stored"]),
        ({"rows": 1, "labels": {1: "a"}}, ["parameter labels (key 1 is not a str)"]),
        ({"rows": 1, "labels": ["a", b"b"]}, ["parameter labels[1] (builtins.bytes)"]),
    ],
    ids=["unknown", "typo", "missing", "object", "set", "int-keys", "nested"],
)
def test_bad_parameters_are_rejected_before_the_run(
    params: dict[str, object], words: list[str]
) -> None:
    recorder = EventRecorder()
    with pytest.raises(ParameterError) as info:
        legato.run(broken.needs_params, params, executor="inline", listeners=[recorder])
    text = str(info.value)
    for word in words:
        assert word in text
    assert "pipeline 'needs_params'" in text
    assert "\n  fix: " in text
    assert recorder.events == []


def test_an_unstorable_default_is_rejected_and_named() -> None:
    recorder = EventRecorder()
    with pytest.raises(ParameterError) as info:
        legato.run(broken.unstorable_default, executor="inline", listeners=[recorder])
    assert "the default of parameter model (builtins.object)" in str(info.value)
    assert "\n  fix: " in str(info.value)
    assert recorder.events == []


# ------------------------------------------------------------ definition-time errors

# (function making the broken definition, marker kind, words, error's task)
DEFINITION_ERRORS = [
    (bad.negative_timeout, "timeout", ["timeout of task 'slow'", "-1"], "slow"),
    (bad.text_timeout, "timeout_text", ["timeout of task 'slow'", "'10'"], "slow"),
    (bad.negative_retries, "retries", ["retries of task 'flaky'", "-1"], "flaky"),
    (bad.retries_and_retry, "retries_and_retry", ["task 'flaky'", "both"], "flaky"),
    (bad.jitter_too_big, "jitter", ["jitter", "[0, 1)", "2"], None),
    (bad.backoff_too_small, "backoff", ["backoff must be >= 1", "0.5"], None),
    (bad.negative_delay, "delay", ["delay must be >= 0"], None),
    (bad.zero_attempts, "attempts", ["attempts must be at least 1"], None),
    (bad.retry_on_instance, "retry_on", ["retry_on must be exception classes"], None),
    (bad.retry_on_name, "retry_on_name", ["retry_on must be exception classes"], None),
    (bad.bad_memory, "memory", ["memory size 'lots'"], None),
    (bad.negative_cpus, "cpus", ["cpus must be >= 0"], None),
    (bad.fractional_gpus, "gpus", ["gpus must be a whole number"], None),
    (bad.negative_custom, "custom", ["'licence': -1"], None),
    (bad.resources_as_dict, "resources_dict", ["resources of task 'hungry'"], "hungry"),
    (bad.tags_as_string, "tags", ["tags of task 'labelled'", "'nightly'"], "labelled"),
    (bad.outputs_zero, "outputs", ["outputs of task 'nothing'"], "nothing"),
    (bad.bad_task_name, "name", ["task name 'two words'"], None),
    (bad.async_task, "async", ["task 'fetch'", "async function"], "fetch"),
    (bad.generator_task, "generator", ["task 'produce'", "generator function"], "produce"),
    (bad.task_on_class, "class", ["@task decorates functions", "Model"], "Model"),
    (bad.task_twice, "twice", ["base is already a task"], "base"),
    (bad.nameless_callable, "nameless", ["functools.partial", "no __name__"], None),
    (bad.with_options_timeout, "with_timeout", ["timeout of task 'base'", "-5"], "base"),
    (bad.with_options_retries, "with_retries", ["retries of task 'base'", "-2"], "base"),
    (bad.bad_capacity, "capacity", ["memory size 'lots'"], None),
    (bad.async_pipeline, "async_pipeline", ["pipeline 'flow'", "async function"], None),
    (bad.generator_pipeline, "generator_pipeline", ["pipeline 'flow'", "generator"], None),
    (bad.varargs_pipeline, "varargs", ["pipeline 'flow'", "*sizes"], None),
    (bad.positional_only_pipeline, "positional_only", ["positional-only", "'size'"], None),
    (bad.bad_failure_policy, "failure_policy", ["failure_policy", "'sometimes'"], None),
    (bad.bad_pipeline_name, "pipeline_name", ["pipeline name ''"], None),
]


@pytest.mark.parametrize("case", DEFINITION_ERRORS, ids=lambda case: case[1])
def test_a_bad_definition_names_it_points_at_the_line_and_says_how_to_fix_it(
    case: tuple[object, str, list[str], str | None],
) -> None:
    make, kind, words, task_name = case
    assert callable(make)
    with pytest.raises(DefinitionError) as info:
        make()
    err = info.value
    assert type(err) is DefinitionError
    assert_definition_error(err, bad, kind, *words)
    assert err.task == task_name
