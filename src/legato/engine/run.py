"""Starting runs: ``run`` (blocking, Ctrl-C aware) and ``start`` (in the background)."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from types import FrameType
from typing import Any, assert_never

from legato._crash import crash_point
from legato.choices import ExecutorName
from legato.config import Settings, load_settings
from legato.define.fingerprint import Fingerprinter
from legato.define.loader import target_of
from legato.define.pipeline import Pipeline
from legato.engine.caching import Caching, previous_parts
from legato.engine.clock import Clock, SystemClock
from legato.engine.driver import Driver, Listener
from legato.engine.environment import environment_snapshot
from legato.engine.journal import Journal
from legato.engine.plan import Plan, build_plan, check_capacity
from legato.engine.result import RunResult
from legato.engine.storage import StoreOption, resolve_storage
from legato.errors import DefinitionError, ParameterError, RunInterrupted
from legato.executors.base import Executor
from legato.executors.inline import InlineExecutor
from legato.executors.processes import ProcessesExecutor
from legato.executors.threads import ThreadsExecutor
from legato.model.ids import new_run_id
from legato.model.runs import RunInfo
from legato.model.specs import FailurePolicy
from legato.runtime.data import LiveData, StoredData
from legato.runtime.secrets import check_params, mask_values, watch
from legato.store.hashing import fingerprint_path

__all__ = [
    "DEFAULT_EXECUTOR",
    "RunHandle",
    "drive",
    "executor_for",
    "make_executor",
    "new_owner",
    "prepare",
    "run",
    "start",
]

DEFAULT_EXECUTOR = "threads"
"""ML steps spend their time in NumPy/SciPy/scikit-learn/PyTorch code that releases the GIL,
so threads run them in parallel with no serialisation and shared memory. Choose
``"processes"`` for GIL-bound Python, hard timeouts and isolation from crashing workers."""


def _build_executor(name: ExecutorName, max_workers: int | None) -> Executor:
    # A match, not a table: mypy checks it handles every ExecutorName.
    match name:
        case ExecutorName.INLINE:
            return InlineExecutor()  # one call at a time, always
        case ExecutorName.THREADS:
            return ThreadsExecutor(max_workers=max_workers)
        case ExecutorName.PROCESSES:
            return ProcessesExecutor(max_workers=max_workers)
    assert_never(name)


def make_executor(executor: str | Executor | None, *, max_workers: int | None = None) -> Executor:
    """An executor from a name (an :class:`~legato.choices.ExecutorName`; None: the
    default) with ``max_workers`` workers (None: the usable CPU cores), or an instance as
    given."""
    if isinstance(executor, Executor):
        return executor
    name = executor or DEFAULT_EXECUTOR
    try:
        known = ExecutorName(name)
    except ValueError:
        raise DefinitionError(
            f"unknown executor {name!r}",
            fix=f"use one of {', '.join(ExecutorName)} or pass an Executor instance",
        ) from None
    return _build_executor(known, max_workers)


def executor_for(executor: str | Executor | None, settings: Settings) -> Executor:
    """The executor a run uses: ``executor`` if given, else the profile's; a named one gets
    the profile's ``concurrency``."""
    return make_executor(
        executor if executor is not None else settings.executor,
        max_workers=settings.concurrency,
    )


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
    store: StoreOption = None,
    cache: bool = True,
    refresh: bool | str | Iterable[str] = False,
    profile: str | None = None,
    echo_logs: bool = True,
) -> Driver:
    """Validate everything a run needs, record the new run and build its loop; nothing runs
    yet. A broken pipeline, bad parameters or impossible resources raise here, before any
    run exists."""
    if not isinstance(pipeline, Pipeline):
        raise DefinitionError(
            f"legato.run() takes a @pipeline, not {pipeline!r}",
            fix="decorate the function with @pipeline (a single task can be wrapped in one)",
        )
    settings = load_settings(profile)
    secrets = settings.secret_refs
    watch(secrets)  # before the parameters are checked: none may hold a secret
    graph = pipeline.graph
    check_params(params)  # before binding too: its errors quote the values
    bound = pipeline.bind_params(params)
    check_params(bound)
    if failure_policy is None:
        failure_policy = settings.failure_policy
    policy = None
    if failure_policy is not None:
        try:
            policy = FailurePolicy(failure_policy)
        except ValueError:
            raise DefinitionError(
                f"unknown failure policy {failure_policy!r}",
                fix="use 'keep_going' or 'fail_fast'",
            ) from None
    chosen = executor_for(executor, settings)
    plan = build_plan(graph, bound, policy)
    check_capacity(plan, chosen.capacity, chosen.name)
    refreshed = _refresh_option(refresh, plan)
    clock = clock or SystemClock()
    if run_id is not None and not _RUN_ID.match(run_id):
        raise ParameterError(
            f"run id {run_id!r} is not allowed: use 1 to 64 letters, digits, '-' and '_'"
        )
    run_id = run_id or new_run_id()
    storage = resolve_storage(store, settings)
    if storage is None:
        return Driver(
            run_id=run_id,
            plan=plan,
            executor=chosen,
            clock=clock,
            listeners=listeners,
            seed=seed,
            secrets=secrets,
            echo_logs=echo_logs,
        )
    fingerprinter = Fingerprinter()
    fingerprints = {key: fingerprinter.code(node.spec.fn) for key, node in plan.nodes.items()}
    earlier = [r.run_id for r in storage.runs.list_runs(pipeline=plan.pipeline, limit=3)]
    owner = new_owner()
    now = clock.time()
    storage.runs.create_run(
        RunInfo(
            run_id=run_id,
            pipeline=plan.pipeline,
            target=target_of(pipeline),
            fingerprint=fingerprinter.graph(graph),
            params=bound,
            executor=chosen.name,
            created_at=now,
            heartbeat_at=now,
            owner=owner,
            environment={
                **mask_values(environment_snapshot(_source_file(pipeline))),  # argv, say
                "profile": settings.profile,
                "config": settings.source,
            },
        )
    )
    crash_point("run_created")
    caching = Caching(
        store=storage.runs,
        plan=plan,
        fingerprints=fingerprints,
        lookups=cache,
        refresh=refreshed,
        previous=previous_parts(storage.runs, plan.pipeline, earlier),
        hash_path=fingerprint_path,
        now=clock.time,
    )
    return Driver(
        run_id=run_id,
        plan=plan,
        executor=chosen,
        clock=clock,
        seed=seed,
        journal=Journal(run_id, store=storage.runs, owner=owner, listeners=listeners),
        artifacts=storage.artifacts,
        caching=caching,
        secrets=secrets,
        echo_logs=echo_logs,
    )


def _refresh_option(refresh: bool | str | Iterable[str], plan: Plan) -> bool | frozenset[str]:
    """``refresh`` as the caching layer takes it: a bool, or the task names and keys to run
    again (one name may be given as a str). A name that is no task of the pipeline is a
    mistake (a typo would silently reuse everything), refused before the run exists."""
    if isinstance(refresh, bool):
        return refresh
    names = frozenset((refresh,) if isinstance(refresh, str) else refresh)
    known = {node.spec.name for node in plan.nodes.values()} | set(plan.nodes)
    unknown = sorted(names - known)
    if unknown:
        raise DefinitionError(
            f"refresh names {', '.join(map(repr, unknown))}: no such task in pipeline "
            f"{plan.pipeline!r}",
            fix=f"name tasks of the pipeline ({', '.join(sorted(known))}), or pass True",
        )
    return names


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def new_owner() -> str:
    """A token naming this orchestrator: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _source_file(pipeline: Pipeline[..., Any]) -> str | None:
    code = getattr(pipeline.fn, "__code__", None)
    return code.co_filename if code is not None else None


def _result(loop: Driver) -> RunResult:
    artifacts = loop.artifacts
    return RunResult(
        record=loop.run,
        output=loop.plan.output,
        outputs=loop.inputs.outputs,
        params=loop.plan.params,
        data=StoredData(artifacts, keep_live=True) if artifacts is not None else LiveData(),
        busy=loop.busy,
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
    store: StoreOption = None,
    cache: bool = True,
    refresh: bool | str | Iterable[str] = False,
    profile: str | None = None,
    echo_logs: bool = True,
) -> RunResult:
    """Run ``pipeline`` to the end and return its :class:`RunResult`.

    Every state change and output is recorded in the run store (``store``: the one the
    settings name, the local ``.legato/`` by default; ``False`` records nothing). Tasks whose
    code and inputs are unchanged reuse their stored results unless ``cache=False``;
    ``refresh`` forces all tasks (``True``) or the named ones to run again.

    ``profile`` selects a profile of ``legato.toml`` (default: ``LEGATO_PROFILE``, else the
    file's ``default_profile``): its store, executor and concurrency, failure policy and
    secrets apply; ``executor`` and ``failure_policy`` given here win over it. A parameter
    containing the value of a secret is refused (``ParameterError``): read secrets inside
    tasks with :func:`legato.secret`.

    What tasks print is captured and stored with the run; ``echo_logs=False`` keeps it off
    this process's own output (the CLI shows it from the store, prefixed by task).

    A failed run returns normally (check ``result.ok`` or call ``raise_for_status()``).
    Ctrl-C (or SIGTERM) stops the running tasks, records the run as cancelled and raises
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
        store=store,
        cache=cache,
        refresh=refresh,
        profile=profile,
        echo_logs=echo_logs,
    )
    return drive(loop)


def drive(loop: Driver) -> RunResult:
    """Execute a prepared loop in this thread, turning Ctrl-C and SIGTERM into a clean
    cancel (a second one forces)."""
    interrupted = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted or loop.in_submit:
            interrupted = True
            raise KeyboardInterrupt
        interrupted = True
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        loop.request_cancel(f"interrupted ({name})")

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        defaults: dict[int, Any] = {
            signal.SIGINT: signal.default_int_handler,
            signal.SIGTERM: signal.SIG_DFL,
        }
        for signum, default in defaults.items():
            if signal.getsignal(signum) is default:
                previous[signum] = signal.signal(signum, on_signal)
    forced = False
    try:
        loop.execute()
    except KeyboardInterrupt:
        forced = True
        interrupted = True
        loop.executor.close(wait=False)
        loop.force_stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if not forced:
            loop.executor.close()
    result = _result(loop)
    if interrupted:
        raise RunInterrupted(result)
    return result


class RunHandle:
    """A run going on in a background thread."""

    def __init__(self, loop: Driver) -> None:
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
    """Start a run in a background thread; same options as :func:`run` (``profile``
    included). Validation errors raise here, before the run exists."""
    return RunHandle(prepare(pipeline, params, **options))
