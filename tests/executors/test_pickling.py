"""Values crossing into and out of worker processes: functions from ``__main__``, lambdas,
outputs and inputs that cannot be pickled, exceptions that misbehave."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from awkward_values import (
    call_with_five,
    make_lambda,
    raises_keyboard_interrupt,
    raises_unpicklable,
    raises_unprintable,
    returns_generator,
    returns_lock,
    use,
)
from fanout_tasks import inc
from runchecks import RESOURCES, assert_all_terminal, describe, make_executor, states

import legato
from legato import RunState, TaskState, pipeline

pytestmark = pytest.mark.timeout(30)


@pipeline
def unpicklable_outputs() -> tuple[str, str, int]:
    return use(returns_generator()), use(returns_lock()), inc(1)


@pipeline
def lambda_output() -> int:
    return call_with_five(make_lambda(3))


@pipeline
def unpicklable_input() -> tuple[str, int]:
    return use(threading.Lock()), inc(1)


@pipeline
def bad_exceptions() -> tuple[int, int, int]:
    return raises_unprintable(), raises_unpicklable(), inc(1)


def test_tasks_defined_in_main_run_in_worker_processes() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    done = subprocess.run(
        [sys.executable, str(RESOURCES / "main_module_script.py"), "4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    # 0+7, 1+7, 4+7, 9+7
    assert done.stdout.split() == ["succeeded", "42", "lambdas", "come", "back", "too"]


def test_a_lambda_output_reaches_the_next_task(executor: str) -> None:
    result = legato.run(lambda_output, executor=make_executor(executor))

    assert result.output == 15


def test_an_unpicklable_output_fails_its_task_not_the_run() -> None:
    result = legato.run(unpicklable_outputs, executor=make_executor("processes"))

    assert_all_terminal(result)
    assert states(result) == {
        "returns_generator": TaskState.FAILED,
        "use": TaskState.UPSTREAM_FAILED,
        "returns_lock": TaskState.FAILED,
        "use_2": TaskState.UPSTREAM_FAILED,
        "inc": TaskState.SUCCEEDED,
    }, describe(result)
    for key, type_name in [("returns_generator", "generator"), ("returns_lock", "lock")]:
        error = result.tasks[key].error
        assert error is not None
        assert error.kind == "output"
        assert type_name in error.message
        assert "cannot be handed to other tasks" in error.message


@pytest.mark.parametrize("name", ["inline", "threads"])
def test_in_process_executors_hand_live_objects_on(name: str) -> None:
    # Without a store, outputs are never serialised: anything can pass between tasks.
    result = legato.run(unpicklable_outputs, executor=name, store=False)

    assert result.output == ("generator", "lock", 2)


@pytest.mark.parametrize("name", ["inline", "threads"])
def test_a_durable_run_needs_storable_outputs_even_in_process(name: str) -> None:
    result = legato.run(unpicklable_outputs, executor=name)

    assert states(result)["returns_lock"] is TaskState.FAILED
    error = result.tasks["returns_lock"].error
    assert error is not None
    assert error.kind == "output"
    assert "cannot be handed to other tasks" in error.message
    assert result.tasks["returns_lock"].attempt == 1  # not retried: it would fail the same


def test_an_unpicklable_input_fails_with_a_clear_message() -> None:
    result = legato.run(unpicklable_input, executor=make_executor("processes"))

    assert_all_terminal(result)
    record = result.tasks["use"]
    assert record.state is TaskState.FAILED, describe(result)
    assert record.error is not None
    assert record.error.kind == "input"
    assert "cannot be sent to a worker process" in record.error.message
    assert "lock" in record.error.message
    assert result.tasks["inc"].state is TaskState.SUCCEEDED


def test_exceptions_that_cannot_be_printed_or_pickled_are_recorded(executor: str) -> None:
    result = legato.run(bad_exceptions, executor=make_executor(executor))

    assert_all_terminal(result)
    assert result.state is RunState.FAILED
    unprintable = result.tasks["raises_unprintable"]
    assert unprintable.state is TaskState.FAILED, describe(result)
    assert unprintable.error is not None
    assert unprintable.error.kind == "raised"
    assert unprintable.error.type_name == "awkward_values.StrFailsError"
    assert unprintable.error.message.startswith("<exception str() failed")
    unpicklable = result.tasks["raises_unpicklable"]
    assert unpicklable.state is TaskState.FAILED
    assert unpicklable.error is not None
    assert unpicklable.error.type_name == "awkward_values.UnpicklableError"
    assert unpicklable.error.message == "holding a lock"
    assert result.tasks["inc"].state is TaskState.SUCCEEDED


@pipeline
def raises_keyboard_interrupt_run() -> tuple[int, int]:
    return raises_keyboard_interrupt(), inc(1)


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_a_task_raising_keyboard_interrupt_in_a_worker_fails_like_any_error(name: str) -> None:
    # Only the orchestrator's main thread gets Ctrl-C; in a worker thread or process a
    # KeyboardInterrupt comes from the task itself and must not lose the call.
    result = legato.run(raises_keyboard_interrupt_run, executor=make_executor(name))

    assert_all_terminal(result)
    record = result.tasks["raises_keyboard_interrupt"]
    assert record.state is TaskState.FAILED, describe(result)
    assert record.error is not None
    assert record.error.kind == "raised"
    assert record.error.type_name == "builtins.KeyboardInterrupt"
    assert result.tasks["inc"].state is TaskState.SUCCEEDED
