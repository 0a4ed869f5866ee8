"""Starting runs: ``run`` (blocking, Ctrl-C aware) and ``start`` (in the background), both
taking :class:`~legato.engine.options.RunOptions` as keywords or as one object."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Mapping
from types import FrameType
from typing import Any

from legato._crash import crash_point
from legato.config import load_settings
from legato.define.fingerprint import Fingerprinter
from legato.define.graph import Graph
from legato.define.loader import target_of
from legato.define.pipeline import Pipeline
from legato.engine.caching import Caching, CodeDigests, EarlierParts
from legato.engine.clock import SystemClock
from legato.engine.driver import Driver
from legato.engine.environment import Snapshot
from legato.engine.executor_choice import executor_for
from legato.engine.journal import Journal
from legato.engine.options import RunOptions, takes_run_options
from legato.engine.plan import build_plan, check_capacity
from legato.engine.result import RunResult
from legato.engine.storage import resolve_storage
from legato.errors import DefinitionError, RunInterrupted
from legato.liveness import owner_token
from legato.model.cache_options import CacheOptions
from legato.model.ids import new_run_id
from legato.model.runs import RunInfo
from legato.model.specs import FailurePolicy
from legato.runtime.data import LiveData, StoredData
from legato.runtime.secrets import check_params, mask_values, watch
from legato.store.hashing import fingerprint_path

__all__ = ["RunHandle", "drive", "prepare", "run", "start"]


@takes_run_options(RunOptions)
def prepare(
    pipeline: Pipeline[..., Any], params: Mapping[str, Any] | None, options: RunOptions
) -> Driver:
    """Validate everything a run needs, record the new run and build its driver; nothing runs
    yet. A broken pipeline, bad parameters or impossible resources raise here, before any
    run exists."""
    if not isinstance(pipeline, Pipeline):
        raise DefinitionError(
            f"legato.run() takes a @pipeline, not {pipeline!r}",
            fix="decorate the function with @pipeline (a single task can be wrapped in one)",
        )
    settings = load_settings(options.profile)
    secrets = settings.secret_refs
    watch(secrets)  # before the parameters are checked: none may hold a secret
    graph = pipeline.graph
    check_params(params)  # before binding too: its errors quote the values
    bound = pipeline.bind_params(params)
    check_params(bound)
    failure_policy = options.failure_policy or settings.failure_policy
    chosen = executor_for(options.executor, settings, options.amounts)
    caching = CacheOptions(lookups=options.cache, refresh=_refresh_option(options.refresh, graph))
    plan = build_plan(
        graph, bound, FailurePolicy(failure_policy) if failure_policy else None, caching
    )
    check_capacity(plan, chosen.capacity, chosen.name, chosen.hosts, shares_gpus=chosen.shares_gpus)
    clock = options.clock or SystemClock()
    run_id = options.run_id or new_run_id()
    storage = resolve_storage(options.store, settings)
    if storage is not None:
        chosen.check_storage(
            getattr(storage.runs, "url", None), getattr(storage.artifacts, "url", None)
        )
    if storage is None:
        return Driver(
            run_id=run_id,
            plan=plan,
            executor=chosen,
            clock=clock,
            listeners=options.listeners,
            seed=options.seed,
            secrets=secrets,
            echo_logs=options.echo_logs,
        )
    # The run is valid (a refused one starts nothing): its git state is asked for now, and
    # read (the git process reaped, however this ends) once the code is fingerprinted and
    # earlier runs read.
    snapshot = Snapshot(_source_file(pipeline))
    try:
        fingerprinter = Fingerprinter()
        codes = CodeDigests(plan, fingerprinter.code)
        earlier = [r.run_id for r in storage.runs.list_runs(pipeline=plan.pipeline, limit=3)]
    finally:
        environment = snapshot()
    owner = owner_token()
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
                **mask_values(environment),  # argv, say
                "profile": settings.profile,
                "config": settings.source,
                "lease": settings.stale_after,  # how long the owner's ownership lasts unrenewed
            },
        )
    )
    crash_point("run_created")
    return Driver(
        run_id=run_id,
        plan=plan,
        executor=chosen,
        clock=clock,
        seed=options.seed,
        journal=Journal(run_id, store=storage.runs, owner=owner, listeners=options.listeners),
        artifacts=storage.artifacts,
        caching=Caching(
            store=storage.runs,
            plan=plan,
            codes=codes,
            lookups=caching.lookups,
            refresh=caching.refresh,
            previous=EarlierParts(storage.runs, earlier),
            hash_path=fingerprint_path,
            now=clock.time,
        ),
        secrets=secrets,
        echo_logs=options.echo_logs,
        lease=settings.stale_after,
    )


def _refresh_option(refresh: bool | str | Iterable[str], graph: Graph) -> bool | frozenset[str]:
    """``refresh`` as the caching layer takes it: a bool, or the task names and keys to run
    again. A name that is no task of the pipeline is a mistake (a typo would silently reuse
    everything), refused before the run exists."""
    if isinstance(refresh, bool):
        return refresh
    names = frozenset((refresh,) if isinstance(refresh, str) else refresh)
    known = {node.spec.name for node in graph.nodes.values()} | set(graph.nodes)
    unknown = sorted(names - known)
    if unknown:
        raise DefinitionError(
            f"refresh names {', '.join(map(repr, unknown))}: no such task in pipeline "
            f"{graph.pipeline!r}",
            fix=f"name tasks of the pipeline ({', '.join(sorted(known))}), or pass True",
        )
    return names


def _source_file(pipeline: Pipeline[..., Any]) -> str | None:
    code = getattr(pipeline.fn, "__code__", None)
    return code.co_filename if code is not None else None


def _result(driver: Driver) -> RunResult:
    artifacts = driver.artifacts
    return RunResult(
        record=driver.run,
        output=driver.plan.output,
        outputs=driver.inputs.outputs,
        params=driver.plan.params,
        data=StoredData(artifacts, keep_live=True) if artifacts is not None else LiveData(),
        busy=driver.busy,
    )


@takes_run_options(RunOptions)
def run(
    pipeline: Pipeline[..., Any], params: Mapping[str, Any] | None, options: RunOptions
) -> RunResult:
    """Run ``pipeline`` with ``params`` to the end and return its :class:`RunResult`.

    The options (:class:`~legato.RunOptions`, each documented there) are given as keywords,
    as one ``RunOptions`` object, or both (keywords win)::

        legato.run(p, {"n": 3}, executor="processes", cache=False)
        legato.run(p, {"n": 3}, legato.RunOptions(executor="processes"), cache=False)

    Every state change and output is recorded in the run store (``store``: the one the
    settings name, the local ``.legato/`` by default; ``False`` records nothing). Tasks whose
    code and inputs are unchanged reuse their stored results unless ``cache=False``;
    ``refresh`` forces all tasks (``True``) or the named ones to run again. Both are
    recorded with the run and apply again when it is resumed.

    ``profile`` selects a profile of ``legato.toml`` (default: ``LEGATO_PROFILE``, else the
    file's ``default_profile``): its store, executor and concurrency, failure policy and
    secrets apply; ``executor`` and ``failure_policy`` given here win over it. A parameter
    containing the value of a secret is refused (``ParameterError``): read secrets inside
    tasks with :func:`legato.secret`. A bad option raises ``ParameterError`` naming it.

    What tasks print is captured and stored with the run; ``echo_logs=False`` keeps it off
    this process's own output (the CLI shows it from the store, prefixed by task).

    A run that fails returns normally, whatever its store (durable, ``"memory"`` or
    ``False``): ``result.ok`` is False, ``result.failures()`` says which tasks failed and
    why, and ``result.raise_for_status()`` (or reading ``result.output``) raises
    :class:`~legato.errors.RunFailedError`. What raises here is what stops a run from
    existing or going on: a broken pipeline, bad parameters or options (before the run is
    created), a storage failure. Ctrl-C (or SIGTERM) stops the running tasks, records the
    run as cancelled and raises :class:`~legato.errors.RunInterrupted` (a
    ``KeyboardInterrupt``) carrying the result; a second Ctrl-C stops at once without
    waiting for tasks to confirm.
    """
    return drive(prepare(pipeline, params, options))


def drive(driver: Driver) -> RunResult:
    """Execute a prepared run in this thread, turning Ctrl-C and SIGTERM into a clean
    cancel (a second one forces)."""
    interrupted = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted or driver.handover.in_submit:
            interrupted = True
            raise KeyboardInterrupt
        interrupted = True
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        driver.request_cancel(f"interrupted ({name})")

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
        driver.execute()
    except KeyboardInterrupt:
        forced = True
        interrupted = True
        driver.executor.close(wait=False)
        driver.force_stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if not forced:
            driver.executor.close()
    result = _result(driver)
    if interrupted:
        raise RunInterrupted(result)
    return result


class RunHandle:
    """A run going on in a background thread."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._result: RunResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"legato-run-{driver.run_id}")
        self._thread.daemon = True
        self._thread.start()

    def _main(self) -> None:
        try:
            self._driver.execute()
            self._result = _result(self._driver)
        except BaseException as exc:  # handed to whoever waits
            self._error = exc
        finally:
            self._driver.executor.close()

    @property
    def run_id(self) -> str:
        return self._driver.run_id

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def cancel(self, reason: str = "cancelled by request") -> None:
        """Stop running tasks and end the run as cancelled."""
        self._driver.request_cancel(reason)

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until the run ends; its result."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"run {self.run_id} still running after {timeout}s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


@takes_run_options(RunOptions)
def start(
    pipeline: Pipeline[..., Any], params: Mapping[str, Any] | None, options: RunOptions
) -> RunHandle:
    """Start a run in a background thread and return its :class:`RunHandle`; the options
    are :func:`run`'s. Validation errors raise here, before the run exists; a run that
    fails ends normally (``handle.wait()`` returns its failed result, as :func:`run`
    does)."""
    return RunHandle(prepare(pipeline, params, options))
