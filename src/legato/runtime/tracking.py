"""Experiment tracking inside a task: ``legato.log_param``, ``log_metric``, ``log_artifact``,
``set_tags`` and ``register_model``.

Each call is bound to the task attempt running in the calling thread (its
:class:`~legato.runtime.context.TaskContext`). Values go where the run's *destination* says:
in the orchestrator's process (inline and threads executors) straight into the driver's
:class:`~legato.runtime.logs.LogSink`; in a worker process into the same buffer as captured
output, sent over the worker's pipe before the attempt's outcome. Either way the driver commits
them in its group commit with the run's events, and drops those of an attempt it has written
off (timed out, cancelled, superseded by a retry): a stale attempt cannot write.

Outside a run (a task function called directly, in a unit test) every call warns once and
does nothing, so task functions stay testable; in a run that stores nothing (``store=False``)
likewise.

A value holding a secret's value (a parameter's name or value, a metric's name, a tag, an
artifact's name or path, a JSON-like artifact, any field of a registration) is refused with
:class:`~legato.errors.SecretValueError`, in and outside a run, before anything of the call is
recorded; in a run the refusal fails the attempt even if the task catches it. Refused, not
masked: a tracked value is read back as data (runs compare, a version's lineage), and a
``***`` standing in for it would silently be another value. See
:mod:`legato.secret_values`.

``register_model`` must return the version's number at once, so it does not wait for a
commit: it stores the model's bytes where the task runs, then has the version recorded in
the run store's database and waits for it. In the orchestrator's process and in a worker
process that reaches the run store that is a write from here; a worker that must not hold
the store's credentials (a Ray node) asks the run's driver instead, which records it with
:func:`record_for_run` (the destination's ``record``). Either way the store refuses a
registration from an attempt older than the task's current one, and one whose run another
orchestrator took over (the owner token the attempt's call carries no longer owns the run:
checked in the transaction that writes the version, as every commit is), and a retried
attempt gets back the version its task registered first. What else a task does with the
run's registry (:func:`current_registry`: ``legato.deploy`` reads versions and aliases and
moves an alias) goes the same way there: the destination's ``models`` carries each call to
the driver, which carries it out on the run's own store (:func:`models_for_run`).
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legato.errors import RegistryError
from legato.model.artifacts import ArtifactRef
from legato.model.codec import artifact_to_dict
from legato.model.jsonable import to_jsonable
from legato.model.registry import ModelVersion
from legato.model.tracking import Tracked, TrackKind, check_tracked_name, metric_value
from legato.registry.fields import refuse_registration
from legato.registry.registry import Lineage, Registry
from legato.registry.versions import record_run_version, stage_version
from legato.runtime.context import TaskContext, current_context
from legato.runtime.lineage import code_fingerprint_of, stored_inputs
from legato.secret_values import refuse
from legato.store.base import ArtifactStore, ModelStore, RunStore
from legato.store.memory_models import timestamp

__all__ = [
    "ANY_RUN",
    "Destination",
    "current_registry",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "models_for_run",
    "record_for_run",
    "register_model",
    "release_tracking",
    "set_tags",
    "track_in_process",
]

ANY_RUN = "*"
"""Route name for every run (a worker process serves many)."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the tracked values of a run's attempts go, in this process."""

    write: Callable[[Tracked], None]
    artifacts: ArtifactStore | None = None
    """Where ``log_artifact`` and ``register_model`` store objects."""
    runs: Callable[[TaskContext], RunStore | None] | None = None
    """The run store ``register_model`` writes to (None: registering is not possible)."""
    record: Callable[[TaskContext, ModelVersion], ModelVersion] | None = None
    """Records a version ``register_model`` staged here, somewhere else (a Ray worker asks
    the run's driver), and returns it as stored; when set, ``runs`` is not used."""
    models: Callable[[TaskContext], ModelStore] | None = None
    """The registry's tables as a task reaches them from here when ``runs`` is None (a Ray
    worker: through the run's driver)."""


_lock = threading.Lock()
_routes: dict[str, Destination] = {}
_warned: set[str] = set()


def track_in_process(run_id: str, destination: Destination) -> None:
    """Send the tracked values of ``run_id``'s attempts running in this process to
    ``destination`` (``ANY_RUN``: every run's)."""
    with _lock:
        _routes[run_id] = destination


def release_tracking(run_id: str) -> None:
    """Stop routing ``run_id``'s tracked values."""
    with _lock:
        _routes.pop(run_id, None)


def _bound(what: str) -> tuple[TaskContext, Destination] | None:
    ctx = current_context()
    if ctx is None:
        _warn_once(
            what,
            f"legato.{what}() was called outside a legato run: nothing is recorded (this is "
            "expected when a task function is called directly, as in a unit test)",
        )
        return None
    destination = _routes.get(ctx.run_id) or _routes.get(ANY_RUN)
    if destination is None:
        _warn_once(
            what,
            f"legato.{what}() in task {ctx.key!r}: this run stores nothing (store=False), so "
            "nothing is recorded",
        )
        return None
    return ctx, destination


def _warn_once(what: str, message: str) -> None:
    with _lock:
        if what in _warned:
            return
        _warned.add(what)
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def _record(ctx: TaskContext, kind: TrackKind, name: str, value: Any, step: int = 0) -> Tracked:
    return Tracked(
        run_id=ctx.run_id,
        key=ctx.key,
        attempt=ctx.attempt,
        kind=kind,
        name=name,
        value=value,
        map_index=ctx.map_index,
        step=step,
        at=time.time(),
    )


def _json_value(value: Any) -> Any:
    """A parameter value in its stored JSON form: NumPy scalars become Python numbers,
    anything else that JSON cannot hold its ``repr``."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    try:
        return to_jsonable(value)
    except (TypeError, ValueError):
        return repr(value)


# -- the public calls ---------------------------------------------------------------------------


def log_param(name: str, value: Any) -> None:
    """Record a parameter of this attempt (a JSON-like value; NumPy scalars are converted,
    other objects recorded as their ``repr``). Logging a name again replaces its value."""
    check_tracked_name(name, "parameter")
    refuse(name, api="legato.log_param", field="the parameter name")
    stored = _json_value(value)
    refuse(stored, api="legato.log_param", field=f"the value of parameter {name!r}")
    bound = _bound("log_param")
    if bound is None:
        return
    ctx, destination = bound
    ctx.scratch.setdefault("params", {})[name] = stored
    destination.write(_record(ctx, TrackKind.PARAM, name, stored))


def log_params(params: Mapping[str, Any]) -> None:
    """:func:`log_param` for each item of ``params``."""
    for name, value in params.items():
        log_param(name, value)


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric. Values logged under one name form a series: ``step`` is the
    position (default: one after the last step logged for this name in this attempt)."""
    check_tracked_name(name, "metric")
    refuse(name, api="legato.log_metric", field="the metric name")
    number = metric_value(value, name)
    refuse(number, api="legato.log_metric", field=f"the value of metric {name!r}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise ValueError(f"metric {name!r}: step must be a whole number >= 0, not {step!r}")
    bound = _bound("log_metric")
    if bound is None:
        return
    ctx, destination = bound
    steps: dict[str, int] = ctx.scratch.setdefault("steps", {})
    if step is None:
        step = steps.get(name, -1) + 1
    steps[name] = max(step, steps.get(name, -1))
    ctx.scratch.setdefault("metrics", {})[name] = number
    destination.write(_record(ctx, TrackKind.METRIC, name, number, step))


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """:func:`log_metric` for each item of ``metrics``."""
    for name, value in metrics.items():
        log_metric(name, value, step)


def set_tags(tags: Mapping[str, Any] | None = None, /, **more: Any) -> None:
    """Tag this attempt: ``set_tags({"stage": "dev"})`` or ``set_tags(stage="dev")``;
    values are recorded as strings."""
    items = {name: str(value) for name, value in {**(tags or {}), **more}.items()}
    for name, value in items.items():  # all checked before any is written
        check_tracked_name(name, "tag")
        refuse(name, api="legato.set_tags", field="a tag name")
        refuse(value, api="legato.set_tags", field=f"tag {name!r}")
    bound = _bound("set_tags")
    if bound is None:
        return
    ctx, destination = bound
    for name, value in items.items():
        destination.write(_record(ctx, TrackKind.TAG, name, value))


def log_artifact(obj_or_path: Any, name: str) -> ArtifactRef | None:
    """Store an object (or the contents of a file: a ``pathlib.Path``, or a string naming
    an existing file) in the artifact store, checksummed, and record it under ``name``.
    Returns its reference (None outside a run)."""
    check_tracked_name(name, "artifact")
    api = "legato.log_artifact"
    refuse(name, api=api, field="the artifact name")
    is_path = isinstance(obj_or_path, Path) or (
        isinstance(obj_or_path, str) and os.path.isfile(obj_or_path)
    )
    # A path's file name is recorded; other objects are data, looked into when JSON-like.
    refuse(
        obj_or_path, api=api, field=f"the {'path' if is_path else 'object'} of artifact {name!r}"
    )
    bound = _bound("log_artifact")
    if bound is None:
        return None
    ctx, destination = bound
    if destination.artifacts is None:
        return None
    obj = obj_or_path
    filename = None
    if is_path:
        path = Path(obj)
        if not path.is_file():
            raise FileNotFoundError(f"log_artifact({name!r}): {path} is not a file")
        obj, filename = path.read_bytes(), path.name
    producer = f"{ctx.run_id}/{ctx.key}#{ctx.attempt}"
    ref = destination.artifacts.put(obj, producer=producer)
    value = artifact_to_dict(ref)
    if filename is not None:
        value["filename"] = filename
    destination.write(_record(ctx, TrackKind.ARTIFACT, name, value))
    return ref


def register_model(
    name: str,
    model: Any,
    *,
    metrics: Mapping[str, float] | None = None,
    signature: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> ModelVersion | None:
    """Register ``model`` as the next version of model ``name``, with its lineage: this
    run and task, the task's code fingerprint, its input artifacts, the run's parameters
    and those this attempt logged, ``metrics`` (default: the last value of each metric
    this attempt logged) and the run's environment. Returns the :class:`ModelVersion`
    (None outside a run). A retried attempt of the same task in the same run gets back
    the version registered first. A name, metric, signature or tag holding a secret's
    value is refused (``SecretValueError``) before anything is stored."""
    refuse_registration(
        name,
        api="legato.register_model",
        metrics=metrics,
        signature=signature,
        tags=tags,
        lineage=Lineage(),
    )
    bound = _bound("register_model")
    if bound is None:
        return None
    ctx, destination = bound
    runs = None
    if destination.record is None and destination.runs is not None:
        runs = destination.runs(ctx)
    if destination.artifacts is None or (runs is None and destination.record is None):
        _warn_once(
            "register_model:store",
            f"legato.register_model() in task {ctx.key!r}: this run's store cannot be reached "
            "from this worker (an in-memory store and the processes executor), so nothing "
            "is registered",
        )
        return None
    if metrics is None:
        metrics = {k: v for k, v in ctx.scratch.get("metrics", {}).items() if math.isfinite(v)}
    # The run's own parameters, environment and fingerprint are added where the version is
    # recorded, from the run's record (record_run_version).
    lineage = Lineage(
        run_id=ctx.run_id,
        task=ctx.key,
        attempt=ctx.attempt,
        fingerprint=code_fingerprint_of(ctx),
        params=dict(ctx.scratch.get("params", {})),
        inputs=stored_inputs(ctx),
    )
    staged = stage_version(
        destination.artifacts,
        name,
        model,
        metrics=metrics,
        signature=signature,
        tags=tags,
        lineage=lineage,
        created_at=timestamp(time.time()),
        api="legato.register_model",
    )
    if destination.record is not None:
        return destination.record(ctx, staged)
    assert runs is not None
    return record_run_version(runs, staged, owner=ctx.call.owner if ctx.call else None)


def record_for_run(run_id: str, version: ModelVersion, *, owner: str | None) -> ModelVersion:
    """Record ``version``, which a task of ``run_id`` staged in a worker, in the run store
    of the run's orchestrator in this process (the driver answering a Ray worker's
    request): the store the run's own events go to, fenced by ``owner``, that
    orchestrator's token. ``RegistryError`` when this process does not drive the run (it
    ended, or its orchestrator is elsewhere)."""
    return record_run_version(
        _driven(run_id, "the model version was not recorded"), version, owner=owner
    )


def models_for_run(run_id: str) -> ModelStore:
    """The registry's tables in the run store of ``run_id``'s orchestrator in this process
    (the driver carrying out a Ray worker's registry call); ``RegistryError`` when this
    process does not drive the run."""
    return _driven(run_id, "the registry call was not carried out").models


def _driven(run_id: str, outcome: str) -> RunStore:
    """The run store of ``run_id``'s orchestrator in this process."""
    with _lock:
        destination = _routes.get(run_id)
    runs = None
    if destination is not None and destination.runs is not None:
        runs = destination.runs(TaskContext(run_id=run_id, key="", task="", attempt=0))
    if runs is None:
        raise RegistryError(
            f"run {run_id!r} is not driven by this process any more (it ended, or another "
            f"orchestrator took it over): {outcome}"
        )
    return runs


def current_registry() -> Registry | None:
    """The registry of the run the calling task belongs to, over that run's own run store and
    artifact store (where :func:`register_model` writes), or None outside a run or where the
    run's store cannot be reached from here. The caller need not close it."""
    ctx = current_context()
    if ctx is None:
        return None
    destination = _routes.get(ctx.run_id) or _routes.get(ANY_RUN)
    if destination is None or destination.artifacts is None:
        return None
    if destination.runs is None:
        if destination.models is None:
            return None
        return Registry(destination.models(ctx), destination.artifacts)
    runs = destination.runs(ctx)
    return None if runs is None else Registry(runs.models, destination.artifacts)
