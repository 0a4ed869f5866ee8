"""The Ray executor: each attempt is one Ray task, on a cluster legato joins or starts.

Ray does what a multi-machine executor needs and legato does not rebuild: it places each
attempt on a node with the resources it declares (CPUs, GPUs, memory, custom amounts,
mapped one to one), gives it its GPUs (``CUDA_VISIBLE_DEVICES``), and passes outputs
between nodes through its shared-memory object store. legato keeps what makes a run
durable: Ray's own retries are off (``max_retries=0``), so every attempt is one legato
records, retries by its rules, and every output is also a checksummed artifact, so a
resume never needs the cluster that ran the first attempts.

An attempt's timeout counts from when its worker reports that it started (``CallStarted``,
through the relay), not from the submit: waiting for a node is queueing, not running. A
timeout or cancel kills the worker (``ray.cancel(force=True)``), so code stuck in C stops
too; a worker that dies (crash, Ray's out-of-memory killer, its node lost) is a failed
attempt with that reason.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import ray

from legato.errors import ExecutorError, FencedError
from legato.executors import ray_cluster, ray_models, ray_outcomes, ray_relay
from legato.executors.base import Executor, Report
from legato.executors.ray_task import REGISTER, STARTED, RunShared, outcome_of, run_attempt
from legato.model import wire
from legato.model.calls import CallStarted, OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.specs import Capacity, Resources
from legato.model.values import Stored, StoredItems
from legato.runtime.logs import LogSink
from legato.runtime.pickling import dumps
from legato.runtime.tracking import models_for_run, record_for_run
from legato.store.base import ArtifactStore

__all__ = ["RayExecutor"]

_QUEUED_AHEAD = 4
"""Attempts admitted per attempt the cluster has room for (see :attr:`RayExecutor.admits`).
With two, a node often emptied Ray's queue before the driver's next submit and Ray gave its
worker back, to lease one again for that submit: on 1,000 no-op tasks on 2 CPUs, four cut
the driver's CPU per task by about 0.2 ms and the raylet's by 0.15-0.25 ms; eight did no
better than four."""

_KEPT_OBJECTS = 4096
"""Output objects kept referenced for downstream attempts (the oldest are let go: their
consumers read the artifact instead)."""


@dataclass(slots=True)
class _InFlight:
    call: TaskCall
    ref: Any
    live: Any
    """The reference of the attempt's live output (see ``ray_task.run_attempt``)."""
    stopping: bool = False


class RayExecutor(Executor):
    """Runs every attempt as a Ray task.

    Args:
        address: a running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``);
            None starts a local cluster for the run and stops it after (or uses the
            connection this process already has, ``ray.init`` called before).
        num_cpus: CPUs of a local cluster (default: the machine's).
        capacity: what tasks may use together (default: the cluster's totals).
        objects: whether outputs are also handed on as Ray objects (default: unless every
            node runs on this machine and the artifacts are a local folder, where a
            consumer maps the artifact's file instead; see ``ray_cluster.objects_pay``).
    """

    name = "ray"
    hard_timeouts = True
    shares_gpus = True
    starts_late = True

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        capacity: Capacity | None = None,
        objects: bool | None = None,
    ) -> None:
        self.address = address
        self._hand_objects = objects
        self._handing = True
        """Whether this opening's attempts return their outputs as Ray objects too."""
        self._num_cpus = num_cpus
        self._given = capacity
        self._cluster: ray_cluster.Cluster | None = None
        self._nodes: list[Capacity] = []
        self._lock = threading.Lock()
        self._flight: dict[int, _InFlight] = {}
        self._objects: OrderedDict[str, Any] = OrderedDict()
        self._functions = ray_relay.Functions()
        """This run's functions, kept in the relay."""
        self._report: Report | None = None
        self._logs: LogSink | None = None
        self._hub: ray_relay.Hub | None = None
        self._collector: ray_outcomes.Collector | None = None
        self._runs: set[str] = set()
        self._closing = threading.Event()
        self._checked = False
        self._remote: Any = None
        self._remotes: dict[Resources, Any] = {}
        """The Ray task with each resource request's options (``options()`` is not free)."""
        self._kept = ""
        """Prefix of what this opening keeps in the relay: ``<prefix>run`` (a pickled
        ``ray_task.RunShared``) and ``<prefix>fn/<fn_id>`` (each pickled function)."""

    # ------------------------------------------------------------------ the cluster

    def _connect(self) -> None:
        if self._cluster is None or not ray.is_initialized():
            self._cluster = ray_cluster.connect(self.address, self._num_cpus)
            self._nodes = ray_cluster.node_capacities()
            self._checked = False

    @property
    def capacity(self) -> Capacity:
        if self._given is not None:
            return self._given
        self._connect()
        return ray_cluster.total(self._nodes)

    @property
    def admits(self) -> Capacity:
        """The cluster's totals, four times over: Ray runs what its nodes have room for
        and queues the rest, so a node has its next attempt when one ends rather than
        idling through the driver's round trip (outcome, commit, submit, placement), and
        keeps its leased workers instead of giving them back and leasing again. A capacity
        given by hand is a limit of legato's own, admitted exactly."""
        if self._given is not None:
            return self._given
        return ray_cluster.scaled(self.capacity, _QUEUED_AHEAD)

    @property
    def hosts(self) -> tuple[Capacity, ...]:
        self._connect()
        return tuple(self._nodes)

    def check_storage(self, runs_url: str | None, artifacts_url: str | None) -> None:
        self._connect()
        ray_cluster.check_storage(runs_url, artifacts_url)

    # ------------------------------------------------------------------ lifecycle

    def open(
        self,
        report: Report,
        artifacts: ArtifactStore | None = None,
        logs: LogSink | None = None,
    ) -> None:
        self._connect()
        if not self._checked:
            ray_cluster.check_versions()
            self._checked = True
        self._report = report
        self._logs = logs
        self._closing.clear()
        self._remote = ray.remote(run_attempt)
        self._remotes.clear()
        self._let_go()
        self._hub = ray_relay.hub()
        if self._collector is not None:  # opened again without a close
            self._collector.stop()
        self._collector = ray_outcomes.Collector(self._done)
        # What every attempt shares, and each function, is kept in the relay and fetched
        # from it once per worker (a function's first attempts carry it until the relay
        # holds it: ray_relay.Functions): object references passed with every call would
        # make each worker a borrower, which the owner and the worker track for every call.
        self._kept = f"{uuid.uuid4().hex}/"
        objects = self._hand_objects
        if objects is None:
            url = artifacts.url if artifacts is not None else None
            objects = ray_cluster.objects_pay(url, len(ray_cluster.machines()))
        self._handing = objects
        self._keep("run", dumps(RunShared(artifacts, logs is not None, objects)))
        self._runs.clear()

    def _keep(self, name: str, data: bytes) -> None:
        """Keep ``data`` in the relay for the workers, and wait until it holds it: an
        attempt submitted next may ask for it at once."""
        assert self._hub is not None
        ray.get(self._hub.relay.keep.remote(self._kept + name, data), timeout=120)

    def _let_go(self) -> None:
        """Drop what this executor kept in the relay (the relay serves later runs)."""
        if self._hub is not None and self._kept:
            with contextlib.suppress(Exception):
                self._hub.relay.drop.remote(self._kept)
        self._kept = ""
        self._functions.clear()

    def close(self, *, wait: bool = True) -> None:
        with self._lock:
            flying = list(self._flight.values())
        for entry in flying:
            entry.stopping = True
            with contextlib.suppress(Exception):
                ray.cancel(entry.ref, force=True)
        self._closing.set()
        if self._collector is not None:
            self._collector.stop()  # before a shutdown: it must not be inside Ray then
            self._collector = None
        if self._hub is not None:
            self._hub.release(self._relayed)
        self._let_go()
        self._hub = None
        self._objects.clear()
        self._remotes.clear()
        self._report = None
        cluster, self._cluster = self._cluster, None
        if cluster is not None and cluster.owned:
            ray_relay.stop_hub()
            ray.shutdown()

    # ------------------------------------------------------------------ calls

    def submit(self, call: TaskCall) -> None:
        hub, collector = self._hub, self._collector
        if self._remote is None or hub is None or collector is None:
            raise ExecutorError("the ray executor is not open")
        if call.run_id not in self._runs:
            self._runs.add(call.run_id)
            hub.register(call.run_id, self._relayed)
        try:
            args_data = dumps((call.args, call.kwargs))
            fn_data = self._functions.carried(hub.relay, self._kept, call.fn_id, call.fn)
        except Exception as exc:
            self._deliver(
                _failed(
                    call,
                    ErrorKind.INPUT,
                    f"task {call.task!r} or one of its inputs cannot be sent to a Ray worker "
                    f"({type(exc).__name__}: {exc}); pass data that pickles, or use the "
                    "threads executor",
                    "legato.InputError",
                )
            )
            return
        # Ray assigns GPUs itself and sets CUDA_VISIBLE_DEVICES: the engine's indices are
        # not those of the node the attempt lands on. The run store's URL (credentials
        # included) stays here: a worker asks the driver to record what it registers.
        bare = replace(call, gpu_ids=(), store_url=None)
        message = wire.encode(bare, fn_data=fn_data, args_data=args_data)
        with self._lock:
            objects = ray_outcomes.held_inputs(self._objects, call.args, call.kwargs)
        remote = self._remotes.get(call.resources)
        if remote is None:
            res = call.resources
            options = ray_cluster.to_ray_options(res.cpus, res.memory, res.gpus, res.custom)
            remote = self._remotes[res] = self._remote.options(**options)
        outcome_ref, live_ref = remote.remote((message, hub.name, self._kept, objects))
        entry = _InFlight(call, outcome_ref, live_ref)
        with self._lock:
            self._flight[call.call_id] = entry
        collector.add(outcome_ref, entry)

    def cancel(self, call_id: int) -> None:
        with self._lock:
            entry = self._flight.get(call_id)
            if entry is None or entry.stopping:
                return
            entry.stopping = True
        with contextlib.suppress(Exception):
            ray.cancel(entry.ref, force=True)

    # ------------------------------------------------------------------ outcomes

    def _done(self, entry: _InFlight, value: Any, error: BaseException | None) -> None:
        """An attempt's Ray task ended (called on the collector's thread)."""
        with self._lock:
            self._flight.pop(entry.call.call_id, None)
        live_ref = entry.live
        if error is None:
            try:
                outcome, relayed = outcome_of(value)
            except Exception as exc:  # an outcome this process cannot read
                error = exc
        if error is not None:
            self._finish(self._lost(entry, error), live_ref)
            return
        hub = self._hub
        if relayed and hub is not None:
            hub.after_drain(lambda: self._finish(outcome, live_ref))
            return
        self._finish(outcome, live_ref)

    def _finish(self, outcome: TaskOutcome, live_ref: Any) -> None:
        if outcome.kind is OutcomeKind.SUCCEEDED:
            value = outcome.output
            inline = isinstance(value, Stored) and value.ref.inline is not None
            if (
                self._handing
                and isinstance(value, Stored | StoredItems)
                and not inline
                and not self._closing.is_set()
            ):
                ref = value.ref if isinstance(value, Stored) else value.manifest
                with self._lock:
                    self._objects[ref.checksum] = live_ref
                    while len(self._objects) > _KEPT_OBJECTS:
                        self._objects.popitem(last=False)
        self._deliver(outcome)

    def _lost(self, entry: _InFlight, exc: BaseException) -> TaskOutcome:
        call = entry.call
        if entry.stopping:
            return call.ended(OutcomeKind.STOPPED)
        loss = ray_cluster.describe_loss(exc)
        return call.ended(
            OutcomeKind.CRASHED, ErrorInfo.of(ErrorKind.CRASH, loss, "legato.WorkerCrashed")
        )

    def _relayed(self, item: Any) -> None:
        """What a worker of this executor's runs sent through the relay: a start (the
        timeout begins), captured output and tracked values (into the run's log sink), or
        a request (answered on a thread of its own: the relay's thread must not wait for
        the run store)."""
        if isinstance(item, tuple) and item and item[0] == ray_relay.ASK:
            _, _, ticket, payload = item
            threading.Thread(
                target=self._answer, args=(ticket, payload), name="legato-ray-request"
            ).start()
        elif isinstance(item, tuple) and item and item[0] == STARTED:
            _, _, call_id, _ = item
            with self._lock:
                entry = self._flight.get(call_id)
            if entry is not None:
                self._deliver(CallStarted(call_id=call_id, attempt=entry.call.attempt))
        elif isinstance(item, list) and self._logs is not None:
            self._logs.add(item)

    def _answer(self, ticket: str, payload: Any) -> None:
        """Carry out a worker's request and answer it, while this executor still runs the
        attempt that asked: a model version it staged, recorded in the run store of the
        run's driver (``REGISTER``: ``runtime.tracking.record_for_run``), or a call of the
        registry's tables (``ray_models.MODELS``) carried out on that store. An attempt
        written off (timed out, cancelled, its worker lost) may do neither: its task has
        moved on, or will. The owner token is this driver's, from its own call, never the
        worker's say: once another orchestrator took the run over the store refuses the
        version."""
        hub = self._hub
        if hub is None:
            return  # closed: the relay answers no more, and its workers are stopped
        try:
            kind, call_id = payload[0], payload[1]
            answer: Any
            if kind == REGISTER:
                version = payload[2]
                attempt = (version.run_id, version.task, version.attempt)
                call = self._running(call_id, attempt, "register a model version")
                answer = record_for_run(call.run_id, version, owner=call.owner)
            elif kind == ray_models.MODELS:
                _, _, attempt, method, args, kwargs = payload
                call = self._running(call_id, attempt, f"call the registry's {method}")
                answer = ray_models.carry_out(models_for_run(call.run_id), method, args, kwargs)
            else:
                raise ExecutorError(f"the ray executor does not carry out {kind!r} requests")
        except Exception as exc:
            hub.answer(ticket, error=exc)
        else:
            hub.answer(ticket, answer)

    def _running(self, call_id: int, attempt: tuple[str, str, int], what: str) -> TaskCall:
        """The call ``call_id`` if this executor runs it now as ``attempt`` (run, task key,
        attempt number), else ``FencedError`` saying the attempt may not do ``what``."""
        with self._lock:
            entry = self._flight.get(call_id)
        call = entry.call if entry is not None and not entry.stopping else None
        if call is None or (call.run_id, call.key, call.attempt) != attempt:
            run_id, key, number = attempt
            raise FencedError(
                f"attempt {number} of task {key!r} in run {run_id!r} was written off by the "
                f"run's driver (timed out, cancelled or its worker lost): it may not {what}"
            )
        return call

    def _deliver(self, outcome: TaskOutcome | CallStarted) -> None:
        report = self._report
        if report is not None:
            report(outcome)


def _failed(call: TaskCall, kind: ErrorKind, message: str, type_name: str) -> TaskOutcome:
    return call.ended(OutcomeKind.FAILED, ErrorInfo.of(kind, message, type_name))
