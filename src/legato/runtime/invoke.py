"""One attempt inside a worker: bind inputs, run the function behind the one user-code error
boundary, hand the output back in the executor's form."""

from __future__ import annotations

import time
import traceback as tb
from collections.abc import Callable
from typing import Any

from legato._crash import crash_point
from legato.errors import SerializationError, StoreError, TaskCancelled
from legato.model.artifacts import shape_of
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.values import Arg, Dict, Given, Lit, Seq
from legato.runtime.context import TaskContext, leave_context, using_context
from legato.runtime.data import DataPlane
from legato.runtime.secrets import mask, mask_error, watch
from legato.secret_values import noted, noting

__all__ = [
    "InputError",
    "capture_error",
    "failed_outcome",
    "invoke",
]


class InputError(Exception):
    """An input could not be bound to the call (an index that does not exist)."""


def _resolve(arg: Arg, data: DataPlane) -> Any:
    if isinstance(arg, Given):
        obj = data.load(arg.value)
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
        items = [_resolve(item, data) for item in arg.items]
        return tuple(items) if arg.as_tuple else items
    if isinstance(arg, Dict):
        return {key: _resolve(item, data) for key, item in arg.items}
    raise TypeError(f"unbound input {arg!r}")


def invoke(call: TaskCall, fn: Callable[..., Any], data: DataPlane) -> TaskOutcome:
    """Run one attempt of ``call`` with ``fn``; never raises for the task's own errors.

    Inputs are loaded (and their checksums verified) before the function is called: an input
    that cannot be loaded fails the attempt without running the task. ``TaskCancelled`` (a
    stop asked by legato) ends the attempt as STOPPED; ``KeyboardInterrupt`` propagates so
    Ctrl-C reaches the run. A value legato refused to record because it holds a secret
    (:class:`~legato.errors.SecretValueError`) fails the attempt even if the task caught it.
    """
    started = time.time()
    try:
        args = [_resolve(a, data) for a in call.args]
        kwargs = {name: _resolve(a, data) for name, a in call.kwargs}
    except InputError as exc:
        return failed_outcome(
            call, ErrorInfo.of(ErrorKind.INPUT, str(exc), "legato.InputError"), started
        )
    except StoreError as exc:  # a missing or corrupt artifact: the task must not start
        return failed_outcome(call, capture_error(exc, ErrorKind.INPUT), started)
    except Exception as exc:  # unpickling an input failed
        return failed_outcome(call, capture_error(exc, ErrorKind.INPUT), started)

    if call.secrets is not None:
        watch(call.secrets)  # masked here even if the task reads os.environ itself
    token = using_context(
        TaskContext(
            run_id=call.run_id,
            key=call.key,
            task=call.task,
            attempt=call.attempt,
            map_index=call.map_index,
            gpu_ids=call.gpu_ids,
            secrets=call.secrets,
            call=call,
        )
    )
    refusals = noting()
    crash_point("task_started")
    result: Any = None
    raised: BaseException | None = None
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
        raised = exc
    finally:
        refused = noted(refusals)
        leave_context(token)
    if refused is not None and refused is not raised:
        # The task caught legato's refusal of a secret (or raised another error after it):
        # the attempt fails with the refusal all the same, never succeeds without the value.
        return failed_outcome(call, capture_error(refused, ErrorKind.RAISED), started)
    if raised is not None:
        return failed_outcome(call, _user_error(raised), started)

    ended = time.time()
    try:
        output = data.pack(call, result)
    except SerializationError as exc:
        info = ErrorInfo.of(
            ErrorKind.OUTPUT,
            f"task {call.task!r} returned a {type(result).__module__}."
            f"{type(result).__qualname__} that cannot be handed to other tasks: {exc}",
            "legato.OutputError",
        )
        return failed_outcome(call, info, started)
    except StoreError as exc:  # disk full, store unreachable: the attempt fails, may retry
        return failed_outcome(call, capture_error(exc, ErrorKind.STORAGE), started)
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
    """``ErrorInfo.from_exception`` that never raises, with secret values masked: user
    exceptions whose ``__str__`` fails must still end their attempt as a recorded failure, not
    escape the boundary (which would leave a worker thread dead with no outcome, and hang the
    run)."""
    try:
        return mask_error(ErrorInfo.from_exception(exc, kind))
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
            traceback=mask(trace),
            mro=mro,
        )


def failed_outcome(call: TaskCall, error: ErrorInfo, started: float) -> TaskOutcome:
    """The outcome of an attempt of ``call`` that failed with ``error`` (secret values
    masked: messages legato writes quote exceptions too)."""
    return TaskOutcome(
        call_id=call.call_id,
        key=call.key,
        attempt=call.attempt,
        kind=OutcomeKind.FAILED,
        error=mask_error(error),
        started_at=started,
        ended_at=time.time(),
    )
