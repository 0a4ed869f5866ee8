"""One attempt inside a worker: bind inputs, run the function behind the one user-code error
boundary, hand the output back in the executor's form."""

from __future__ import annotations

import pickle
import time
import traceback as tb
from collections.abc import Callable
from typing import Any

from legato.errors import TaskCancelled
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.values import (
    Arg,
    Dict,
    Gathered,
    Given,
    Inline,
    Lit,
    Pickled,
    PickledItems,
    Seq,
    Value,
)
from legato.runtime.context import TaskContext, leave_context, using_context

__all__ = [
    "InputError",
    "Packer",
    "capture_error",
    "failed_outcome",
    "invoke",
    "load_value",
    "shape_of",
]

Packer = Callable[[Any, bool], Value]
"""Turns a task's return value into the executor's output form (``split`` for maps)."""


class InputError(Exception):
    """An input could not be bound to the call (an index that does not exist)."""


def load_value(value: Value) -> Any:
    """The Python object a :class:`~legato.model.values.Value` stands for."""
    if isinstance(value, Inline):
        return value.obj
    if isinstance(value, Pickled):
        return pickle.loads(value.data)
    if isinstance(value, PickledItems):
        items = [pickle.loads(item) for item in value.items]
        return tuple(items) if value.as_tuple else items
    if isinstance(value, Gathered):
        return [load_value(item) for item in value.items]
    raise TypeError(f"cannot load a {type(value).__name__} here")


def _resolve(arg: Arg) -> Any:
    if isinstance(arg, Given):
        obj = load_value(arg.value)
        for step in arg.path:
            try:
                obj = obj[step]
            except (IndexError, KeyError, TypeError) as exc:
                raise InputError(
                    f"the output of task {arg.source!r} has no item [{step!r}] "
                    f"({type(exc).__name__}: {exc}); it is a {type(obj).__name__}"
                ) from None
        return obj
    if isinstance(arg, Lit):
        return arg.value
    if isinstance(arg, Seq):
        items = [_resolve(item) for item in arg.items]
        return tuple(items) if arg.as_tuple else items
    if isinstance(arg, Dict):
        return {key: _resolve(item) for key, item in arg.items}
    raise TypeError(f"unbound input {arg!r}")


def shape_of(obj: Any) -> tuple[int | None, tuple[int | None, ...] | None]:
    """What a map needs to know of an output without loading it: ``len(obj)`` when it is a
    list, and for a list or tuple of up to 64 items, the length of each item that is a list."""
    if not isinstance(obj, list | tuple):
        return None, None
    length = len(obj) if isinstance(obj, list) else None
    if len(obj) > 64:
        return length, None
    return length, tuple(len(x) if isinstance(x, list) else None for x in obj)


def invoke(call: TaskCall, fn: Callable[..., Any], pack: Packer) -> TaskOutcome:
    """Run one attempt of ``call`` with ``fn``; never raises for the task's own errors.

    ``TaskCancelled`` (a stop asked by legato) ends the attempt as STOPPED;
    ``KeyboardInterrupt`` propagates so Ctrl-C reaches the run.
    """
    started = time.time()
    try:
        args = [_resolve(a) for a in call.args]
        kwargs = {name: _resolve(a) for name, a in call.kwargs}
    except InputError as exc:
        return failed_outcome(
            call, ErrorInfo.of(ErrorKind.INPUT, str(exc), "legato.InputError"), started
        )
    except Exception as exc:  # unpickling an input failed
        return failed_outcome(call, capture_error(exc, ErrorKind.INPUT), started)

    token = using_context(
        TaskContext(
            run_id=call.run_id,
            key=call.key,
            task=call.task,
            attempt=call.attempt,
            map_index=call.map_index,
            gpu_ids=call.gpu_ids,
        )
    )
    try:
        result = fn(*args, **kwargs)
    except TaskCancelled:
        return TaskOutcome(
            call_id=call.call_id,
            key=call.key,
            attempt=call.attempt,
            kind=OutcomeKind.STOPPED,
            started_at=started,
            ended_at=time.time(),
        )
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the user-code error boundary: SystemExit included
        return failed_outcome(call, _user_error(exc), started)
    finally:
        leave_context(token)

    ended = time.time()
    try:
        output = pack(result, call.split_output)
    except Exception as exc:
        info = ErrorInfo.of(
            ErrorKind.OUTPUT,
            f"task {call.task!r} returned a {type(result).__module__}."
            f"{type(result).__qualname__} that cannot be handed to other tasks: {exc}",
            "legato.OutputError",
        )
        return failed_outcome(call, info, started)
    length, item_lengths = shape_of(result)
    return TaskOutcome(
        call_id=call.call_id,
        key=call.key,
        attempt=call.attempt,
        kind=OutcomeKind.SUCCEEDED,
        output=output,
        length=length,
        item_lengths=item_lengths,
        started_at=started,
        ended_at=ended,
    )


def _user_error(exc: BaseException) -> ErrorInfo:
    # Drop the frame of this module so the traceback starts in the user's function.
    if exc.__traceback__ is not None and exc.__traceback__.tb_next is not None:
        exc = exc.with_traceback(exc.__traceback__.tb_next)
    return capture_error(exc, ErrorKind.RAISED)


def capture_error(exc: BaseException, kind: ErrorKind) -> ErrorInfo:
    """``ErrorInfo.from_exception`` that never raises: user exceptions whose ``__str__``
    fails must still end their attempt as a recorded failure, not escape the boundary (which
    would leave a worker thread dead with no outcome, and hang the run)."""
    try:
        return ErrorInfo.from_exception(exc, kind)
    except Exception as failure:
        mro = tuple(
            f"{k.__module__}.{k.__qualname__}"
            for k in type(exc).__mro__
            if issubclass(k, BaseException)
        )
        try:
            trace = "".join(tb.format_exception(exc))  # prints "<exception str() failed>"
        except Exception:
            trace = ""
        return ErrorInfo(
            kind=kind,
            type_name=mro[0],
            message=f"<exception str() failed: {type(failure).__name__}>",
            traceback=trace,
            mro=mro,
        )


def failed_outcome(call: TaskCall, error: ErrorInfo, started: float) -> TaskOutcome:
    """The outcome of an attempt of ``call`` that failed with ``error``."""
    return TaskOutcome(
        call_id=call.call_id,
        key=call.key,
        attempt=call.attempt,
        kind=OutcomeKind.FAILED,
        error=error,
        started_at=started,
        ended_at=time.time(),
    )
