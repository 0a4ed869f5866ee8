"""One attempt inside a Ray worker: the Ray task the Ray executor submits for every attempt.

It speaks the processes executor's protocol: the call arrives in ``model.wire``'s form and
runs through ``executors.worker.run_received`` (function cache, input loading, the memory
limit, the one user-code error boundary); captured output and tracked values are the same
pickled batches of ``LogEntry``/``Tracked``, sent to the run's relay (an actor beside the
driver, ``executors.ray_relay.Relay``) instead of a pipe. ``legato.register_model`` stores
the model's bytes here and asks the driver, through the relay, to record the version, and
waits for the answer; the run's registry (``legato.deploy``) reads and moves aliases through
the driver too (``executors.ray_models``). So the worker needs no access to the run store
(calls arrive without its URL): only the driver writes it.

Each output is stored as an artifact here, as with worker processes, and also returned as a
second Ray object, which a downstream attempt on any node reads from Ray's object store
(:class:`RayData`). When that object is gone with its node, the checksummed artifact is
read instead: the object store is a shortcut, never the record. On a cluster of one machine
with the artifacts in a local folder no object is returned (``RunShared.objects``): the
next attempt maps the artifact's file, which a second copy in Ray's store would only delay.
"""

from __future__ import annotations

import dataclasses
import pickle
import threading
import time
from collections.abc import Mapping
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayError

from legato.executors.ray_models import RelayedModels
from legato.executors.ray_relay import Sequencer, ask
from legato.executors.worker import capture_output, flush_output, route_tracking, run_received
from legato.model.calls import OutcomeKind, TaskOutcome
from legato.model.registry import ModelVersion
from legato.model.values import Stored, StoredItems, Value
from legato.model.wire import Message, decode
from legato.runtime.context import TaskContext
from legato.runtime.data import DataPlane, PickledData, StoredData
from legato.runtime.pickling import dumps_output
from legato.store.base import ArtifactStore

__all__ = [
    "REGISTER",
    "STARTED",
    "Parcel",
    "RayData",
    "RunShared",
    "outcome_of",
    "run_attempt",
    "strip_live",
]

STARTED = "started"
"""First element of a relay message saying an attempt began:
``(STARTED, run_id, call_id, at)``."""

REGISTER = "register"
"""First element of a request's payload asking the driver to record a model version an
attempt staged: ``(REGISTER, call_id, version)``, answered with the version as stored."""

_OBJECT_WAIT_S = 60.0
"""How long an input held in the object store may take to arrive before its artifact is
read instead (a node under load can be slow to answer, a lost one never does)."""

_functions: dict[str, Any] = {}
"""Task functions by ``fn_id``, unpickled once per worker process."""
_relay: list[Any] = [None]
"""The relay of the run whose attempt runs now; captured output goes there."""
_relay_name: list[str] = [""]
"""Its name."""
_routed: list[bool] = []
"""Whether this worker process captures output already (once per process)."""


_sent: list[Any] = []
"""The references of the messages sent for the attempt running now that the relay may not
hold yet (a task's own threads print too: changed under :data:`_sent_lock`)."""
_sent_any: list[bool] = [False]
"""Whether the attempt running now has sent the relay anything (held or not)."""
_sent_lock = threading.Lock()
_SENT_PRUNED_FROM = 256
"""Past this many references kept, those of messages the relay already holds are forgotten
(a chatty attempt sends thousands); next when twice as many as remained are kept, so that a
relay that falls behind is not asked about the same messages at every send."""
_prune_at = [_SENT_PRUNED_FROM]
_sequencer = Sequencer()
"""Numbers what this process sends each relay, which passes it on in that order."""


def _send(message: bytes) -> None:
    relay = _relay[0]
    if relay is None:
        return
    with _sent_lock:  # numbered and sent in one step: a task's own threads print too
        ref = relay.put.remote(message, _sequencer.sender, _sequencer.next(_relay_name[0]))
        _sent_any[0] = True
        _sent.append(ref)
        if len(_sent) >= _prune_at[0]:
            _, waiting = ray.wait(_sent, num_returns=len(_sent), timeout=0, fetch_local=False)
            _sent[:] = waiting
            _prune_at[0] = max(_SENT_PRUNED_FROM, 2 * len(waiting))


class RayData(StoredData):
    """Inputs from Ray's object store where the driver handed over a reference, else from
    the artifact store; outputs stored as artifacts, the live object kept for the return."""

    def __init__(self, artifacts: ArtifactStore, objects: Mapping[str, Any]) -> None:
        super().__init__(artifacts, keep_live=True)
        self.objects = objects
        """Object references by artifact checksum (the manifest's for split outputs)."""

    def load(self, value: Value) -> Any:
        if isinstance(value, Stored | StoredItems) and not value.has_live:
            ref = value.ref if isinstance(value, Stored) else value.manifest
            obj_ref = self.objects.get(ref.checksum)
            if obj_ref is not None:
                try:
                    return ray.get(obj_ref, timeout=_OBJECT_WAIT_S)
                except (RayError, GetTimeoutError):
                    pass  # lost with its node: the artifact is the record
        return super().load(value)


def strip_live(outcome: TaskOutcome) -> tuple[TaskOutcome, Any]:
    """``outcome`` without the live output (which travels as its own Ray object, never
    through the driver), and that output: None when there is none, or when the output's
    bytes are inline in its reference (a consumer reads them there, with no round trip to
    the object's owner)."""
    value = outcome.output
    if isinstance(value, Stored | StoredItems) and value.has_live:
        if isinstance(value, Stored):
            bare: Value = Stored(value.ref)
            live = None if value.ref.inline is not None else value.live
        else:
            bare, live = StoredItems(value.items, value.manifest), value.live
        return dataclasses.replace(outcome, output=bare), live
    return outcome, None


@dataclasses.dataclass(frozen=True, slots=True)
class RunShared:
    """What every attempt of a run shares, kept in the relay once per run and fetched
    from it once per worker."""

    artifacts: ArtifactStore | None
    """The run's artifact store (None: no store, outputs travel pickled)."""
    capture: bool
    """Whether to capture what the attempt prints and tracks."""
    objects: bool
    """Whether an output stored apart is also returned as a Ray object for its consumers
    (``ray_cluster.objects_pay``); else they read its artifact."""


Parcel = tuple[Message, str, str, dict[str, Any]]
"""What :func:`run_attempt` is sent: the call, the relay's name, the prefix of what the
run keeps there and the inputs' object references. One argument, as Ray serializes and
records each argument of a task on its own: one instead of four cut about 0.03 ms of the
driver's CPU per task, and as much of the worker's."""


def run_attempt(parcel: Parcel) -> tuple[bytes, Any]:
    """The Ray task of one attempt: returns its outcome with whether it sent the relay
    anything, pickled (:func:`outcome_of` reads it), and its live output, as two objects.

    The outcome travels as bytes: Ray passes bytes as they are, while an object of its own
    it pickles with its serializer and reads back through its buffer protocol, which cost
    about 0.015 ms more in the worker and 0.045 ms more in the driver per attempt.

    The parcel holds the call in ``model.wire``'s form; the name of the relay actor; the
    prefix under which the driver keeps the run's :class:`RunShared` and its pickled
    functions there, each fetched only when this worker does not have it yet; and the
    references of inputs in the object store, by checksum, nested in the parcel so that
    Ray does not fetch them before the task starts.
    """
    message, relay_name, kept, objects = parcel
    relay = _relay_named(relay_name)
    shared = _shared(relay, kept)
    artifacts = shared.artifacts
    received = decode(message)
    fields = received.fields
    if fields["timeout"] is not None:
        relay.put.remote(pickle.dumps((STARTED, fields["run_id"], fields["call_id"], time.time())))
    if shared.capture:
        _relay[0], _relay_name[0] = relay, relay_name
        if not _routed:
            capture_output(_send)
            _routed.append(True)
        route_tracking(artifacts, record=_register, models=_models)
    if received.fn_data is None and fields["fn_id"] not in _functions:
        fn_data = ray.get(relay.kept.remote(f"{kept}fn/{fields['fn_id']}"))
        received = dataclasses.replace(received, fn_data=fn_data)
    plane: DataPlane = RayData(artifacts, objects) if artifacts is not None else PickledData()
    try:
        outcome = run_received(plane, received, _functions, show_gpus=False)
    finally:
        relayed = shared.capture and _flushed()
    live = None
    if outcome.kind is OutcomeKind.SUCCEEDED:
        outcome, live = strip_live(outcome)
        if not shared.objects:
            live = None
    return dumps_output((outcome, relayed)), live


def outcome_of(data: bytes) -> tuple[TaskOutcome, bool]:
    """What :func:`run_attempt` returned as its first object: the outcome and whether the
    attempt sent the relay anything."""
    outcome, relayed = pickle.loads(data)
    return outcome, relayed


_relays: dict[str, Any] = {}
"""Relay actors by name (a worker looks each up once)."""
_runs: dict[str, RunShared] = {}
"""What a run shares, by the prefix it is kept under."""


def _relay_named(name: str) -> Any:
    relay = _relays.get(name)
    if relay is None:
        relay = _relays[name] = ray.get_actor(name)
    return relay


def _shared(relay: Any, kept: str) -> RunShared:
    shared = _runs.get(kept)
    if shared is None:
        data = ray.get(relay.kept.remote(f"{kept}run"))
        if data is None:
            raise RuntimeError(f"the driver's relay holds nothing under {kept!r}")
        _runs.clear()  # a worker serves one run at a time, mostly: keep the latest
        shared = _runs[kept] = pickle.loads(data)
    return shared


def _register(ctx: TaskContext, version: ModelVersion) -> ModelVersion:
    """Have the run's driver record a version this attempt staged (its model stored as an
    artifact already), and wait for the version as stored, or the driver's refusal."""
    call_id = ctx.call.call_id if ctx.call is not None else -1
    stored: ModelVersion = ask(_relay[0], ctx.run_id, (REGISTER, call_id, version))
    return stored


def _models(ctx: TaskContext) -> RelayedModels:
    """The registry's tables as this attempt's task reaches them: through the driver."""
    return RelayedModels(_relay[0], ctx)


def _flushed() -> bool:
    """Send what the attempt printed and tracked and not sent yet, and wait until the relay
    holds all of it: the driver, told so with the outcome, takes it before the outcome
    counts. Every message is waited for, not only the last: the relay is an async actor,
    for which Ray does not promise that one caller's calls run in the order they were made.
    Whether anything was sent."""
    flush_output()
    with _sent_lock:
        sent = list(_sent)
        _sent.clear()
        _prune_at[0] = _SENT_PRUNED_FROM
        anything, _sent_any[0] = _sent_any[0], False
    if not anything:
        return False
    try:
        ray.get(sent, timeout=_OBJECT_WAIT_S)
    except (RayError, GetTimeoutError):
        return False
    return True
