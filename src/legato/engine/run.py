"""Starting runs: ``run`` (blocking, Ctrl-C aware) and ``start`` (in the background)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from legato.define.pipeline import Pipeline
from legato.engine.clock import Clock, SystemClock
from legato.engine.loop import Listener, Loop
from legato.engine.plan import build_plan, check_capacity
from legato.engine.result import RunResult
from legato.errors import DefinitionError, RunInterrupted
from legato.executors.base import Executor
from legato.executors.inline import InlineExecutor
from legato.executors.processes import ProcessesExecutor
from legato.executors.threads import ThreadsExecutor
from legato.model.ids import new_run_id
from legato.model.specs import FailurePolicy

__all__ = ["DEFAULT_EXECUTOR", "RunHandle", "make_executor", "prepare", "run", "start"]

DEFAULT_EXECUTOR = "threads"
"""ML steps spend their time in NumPy/SciPy/scikit-learn/PyTorch code that releases the GIL,
so threads run them in parallel with no serialisation and shared memory. Choose
``"processes"`` for GIL-bound Python, hard timeouts and isolation from crashing workers."""

_EXECUTORS: dict[str, type[Executor]] = {
    "inline": InlineExecutor,
    "threads": ThreadsExecutor,
    "processes": ProcessesExecutor,
}


def make_executor(executor: str | Executor | None) -> Executor:
    """An executor from a name (``inline``, ``threads``, ``processes``) or as given."""
    if isinstance(executor, Executor):
        return executor
    name = executor or DEFAULT_EXECUTOR
    factory = _EXECUTORS.get(name)
    if factory is None:
        raise DefinitionError(
            f"unknown executor {name!r}",
            fix=f"use one of {', '.join(_EXECUTORS)} or pass an Executor instance",
        )
    return factory()


def prepare(
    pipeline: Pipeline[..., Any],
    params: Mapping[str, Any] | None = None,
    *,
    executor: str | Executor | None = None,
    failure_policy: FailurePolicy | str | None = None,
    listeners: Sequence[Listener] = (),
    run_id: str | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
) -> Loop:
    """Validate everything a run needs and build its loop; nothing runs yet. A broken
    pipeline, bad parameters or impossible resources raise here, before any run exists."""
    if not isinstance(pipeline, Pipeline):
        raise DefinitionError(
            f"legato.run() takes a @pipeline, not {pipeline!r}",
            fix="decorate the function with @pipeline (a single task can be wrapped in one)",
        )
    graph = pipeline.graph
    bound = pipeline.bind_params(params)
    policy = None
    if failure_policy is not None:
        try:
            policy = FailurePolicy(failure_policy)
        except ValueError:
            raise DefinitionError(
                f"unknown failure policy {failure_policy!r}",
                fix="use 'keep_going' or 'fail_fast'",
            ) from None
    chosen = make_executor(executor)
    plan = build_plan(graph, bound, policy)
    check_capacity(plan, chosen.capacity, chosen.name)
    return Loop(
        run_id=run_id or new_run_id(),
        plan=plan,
        executor=chosen,
        clock=clock or SystemClock(),
        listeners=listeners,
        seed=seed,
    )


def _result(loop: Loop) -> RunResult:
    return RunResult(
        record=loop.run,
        output=loop.plan.output,
        outputs=loop.inputs.outputs,
        params=loop.plan.params,
    )


def run(
    pipeline: Pipeline[..., Any],
    params: Mapping[str, Any] | None = None,
    *,
    executor: str | Executor | None = None,
    failure_policy: FailurePolicy | str | None = None,
    listeners: Sequence[Listener] = (),
    run_id: str | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
) -> RunResult:
    """Run ``pipeline`` to the end and return its :class:`RunResult`.

    A failed run returns normally (check ``result.ok`` or call ``raise_for_status()``).
    Ctrl-C stops the running tasks, records the run as cancelled and raises
    :class:`~legato.errors.RunInterrupted` (a ``KeyboardInterrupt``) carrying the result;
    a second Ctrl-C stops at once without waiting for tasks to confirm.
    """
    loop = prepare(
        pipeline,
        params,
        executor=executor,
        failure_policy=failure_policy,
        listeners=listeners,
        run_id=run_id,
        clock=clock,
        seed=seed,
    )
    interrupted = False

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted or loop.in_submit:
            interrupted = True
            raise KeyboardInterrupt
        interrupted = True
        loop.request_cancel("interrupted (Ctrl-C)")

    handle_sigint = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    previous = signal.signal(signal.SIGINT, on_sigint) if handle_sigint else None
    forced = False
    try:
        loop.execute()
    except KeyboardInterrupt:
        forced = True
        interrupted = True
        loop.executor.close(wait=False)
        loop.force_stop()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if not forced:
            loop.executor.close()
    result = _result(loop)
    if interrupted:
        raise RunInterrupted(result)
    return result


class RunHandle:
    """A run going on in a background thread."""

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self._result: RunResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"legato-run-{loop.run_id}")
        self._thread.daemon = True
        self._thread.start()

    def _main(self) -> None:
        try:
            self._loop.execute()
            self._result = _result(self._loop)
        except BaseException as exc:  # handed to whoever waits
            self._error = exc
        finally:
            self._loop.executor.close()

    @property
    def run_id(self) -> str:
        return self._loop.run_id

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def cancel(self, reason: str = "cancelled by request") -> None:
        """Stop running tasks and end the run as cancelled."""
        self._loop.request_cancel(reason)

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until the run ends; its result."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"run {self.run_id} still running after {timeout}s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def start(
    pipeline: Pipeline[..., Any],
    params: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunHandle:
    """Start a run in a background thread; same options as :func:`run`. Validation errors
    raise here, before the run exists."""
    return RunHandle(prepare(pipeline, params, **options))
