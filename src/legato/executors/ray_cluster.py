"""The Ray cluster a run uses: joining it (or starting a local one), what its nodes offer,
checking that its nodes run what the driver runs, and the relay actor through which workers
report back.

Ray maps onto legato's resources one to one: ``cpus`` → ``CPU``, ``gpus`` → ``GPU``,
``memory`` → ``memory`` (bytes), custom amounts → Ray's custom resources. A node's own
resources (``node:<ip>``, ``object_store_memory``, accelerator types) are not legato's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cloudpickle
import ray

from legato._version import __version__
from legato.errors import ExecutorError
from legato.model.specs import Capacity

__all__ = [
    "Cluster",
    "Hub",
    "Relay",
    "check_versions",
    "connect",
    "node_capacities",
    "scaled",
    "hub",
    "machines",
    "seen_everywhere",
    "storage_problem",
    "to_ray_options",
    "total",
    "version_mismatch",
    "versions",
]

_RAY_OWN = ("CPU", "GPU", "memory", "object_store_memory")
_LOCAL_OBJECT_STORE = 256 * 1024**2
"""Object store of a local cluster started for a run: modest, the artifacts are the record."""


@dataclass(slots=True)
class Cluster:
    """A connection to a Ray cluster and whether legato started it (and so stops it)."""

    address: str
    started: bool
    owned: bool
    """Whether this executor called ``ray.init`` (and so calls ``ray.shutdown``)."""


def connect(address: str | None, num_cpus: int | None) -> Cluster:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to), reuse
    the connection this process already has, or start a local cluster for the run
    (``address`` None), bound to 127.0.0.1 with no dashboard."""
    if ray.is_initialized():
        return Cluster(address=_address(), started=False, owned=False)
    try:
        if address is None:
            ray.init(
                address="local",  # a new cluster, never one found on the machine
                num_cpus=num_cpus,
                include_dashboard=False,
                object_store_memory=_LOCAL_OBJECT_STORE,
                _node_ip_address="127.0.0.1",
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "start a local Ray cluster" if address is None else f"join {address!r}"
        raise ExecutorError(
            f"the ray executor could not {where}: {exc}; check the address (`ray status` "
            "shows a running cluster's), or leave it out to start a local cluster for the run"
        ) from exc
    return Cluster(address=_address(), started=address is None, owned=True)


def _address() -> str:
    context = ray.get_runtime_context()
    return str(getattr(context, "gcs_address", "") or "")


def node_capacities() -> list[Capacity]:
    """What each alive node offers, in legato's terms."""
    nodes = []
    for node in ray.nodes():  # type: ignore[no-untyped-call]
        if not node.get("Alive"):
            continue
        nodes.append(_capacity(node.get("Resources", {})))
    return nodes


def _capacity(resources: Mapping[str, float]) -> Capacity:
    custom = {
        name: float(amount)
        for name, amount in resources.items()
        if name not in _RAY_OWN and not name.startswith(("node:", "accelerator_type:"))
    }
    cpus = float(resources.get("CPU", 0.0))
    return Capacity(
        cpus=cpus,
        memory=int(resources.get("memory", 0)),
        gpus=int(resources.get("GPU", 0)),
        custom=custom,
        slots=max(1, int(cpus)),
    )


def total(nodes: list[Capacity]) -> Capacity:
    """What the nodes offer together: admission follows the cluster's totals, and Ray
    places each admitted attempt on a node with room for it."""
    custom: dict[str, float] = {}
    for node in nodes:
        for name, amount in node.custom.items():
            custom[name] = custom.get(name, 0.0) + amount
    cpus = sum(node.cpus for node in nodes)
    return Capacity(
        cpus=cpus,
        memory=sum(node.memory for node in nodes),
        gpus=sum(node.gpus for node in nodes),
        custom=custom,
        # Fractional CPUs let more attempts share a node than it has cores.
        slots=max(1, 4 * int(cpus)),
    )


def scaled(capacity: Capacity, factor: int) -> Capacity:
    """``capacity`` with every amount and its slots ``factor`` times over."""
    return Capacity(
        cpus=capacity.cpus * factor,
        memory=capacity.memory * factor,
        gpus=capacity.gpus * factor,
        custom={name: amount * factor for name, amount in capacity.custom.items()},
        slots=capacity.slots * factor,
    )


def to_ray_options(
    cpus: float, memory: int, gpus: float, custom: Mapping[str, float]
) -> dict[str, Any]:
    """Ray task options for one attempt's resources. Ray's own retries are off: legato's
    recorded attempts are the only ones."""
    options: dict[str, Any] = {
        "num_cpus": cpus,
        "num_gpus": gpus,
        "max_retries": 0,
        "retry_exceptions": False,
        "num_returns": 2,
    }
    if memory:
        options["memory"] = memory
    if custom:
        options["resources"] = dict(custom)
    return options


def versions() -> tuple[str, str, str, str]:
    """Ray, Python (major.minor), cloudpickle and legato versions of this process."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (ray.__version__, python, cloudpickle.__version__, __version__)


_NAMES = ("Ray", "Python", "cloudpickle", "legato")


def check_versions() -> None:
    """Raise :class:`ExecutorError` when a node runs other versions of Ray, Python,
    cloudpickle or legato than the driver: task functions and inputs are pickled here and
    unpickled there, and a mismatch fails in obscure ways mid-run."""
    here = versions()
    probe = ray.remote(versions)
    alive = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
    refs = [
        probe.options(
            num_cpus=0,
            scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                node["NodeID"], soft=False
            ),
        ).remote()
        for node in alive
    ]
    for node, there in zip(alive, ray.get(refs, timeout=120), strict=True):
        problem = version_mismatch(here, there, str(node.get("NodeManagerAddress", "?")))
        if problem is not None:
            raise ExecutorError(problem)


def version_mismatch(here: tuple[str, ...], there: tuple[str, ...], node: str) -> str | None:
    """What differs between the driver's :func:`versions` and a node's, or None."""
    for name, mine, theirs in zip(_NAMES, here, there, strict=True):
        if mine != theirs:
            return (
                f"Ray node {node} runs {name} {theirs} and this driver {name} {mine}: install "
                "the same versions of Ray, Python, cloudpickle and legato on every node and "
                "on the driver"
            )
    return None


def machines() -> list[str]:
    """The addresses of the machines the alive nodes run on (several nodes may share one)."""
    alive = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
    return sorted({str(n.get("NodeManagerAddress", "")) for n in alive})


def storage_problem(
    hosts: int, runs_url: str | None, artifacts_url: str | None, folder_everywhere: bool
) -> str | None:
    """Why a cluster on ``hosts`` machines cannot use these stores, or None.

    Every node writes the artifacts, so a local folder must be one every machine mounts
    (``folder_everywhere``: a file the driver wrote there was seen by every machine); the
    run store is written by the driver alone, but SQLite files are not for sharing over a
    network, and resuming from another machine must find the run.
    """
    if hosts < 2:
        return None
    if runs_url is not None and runs_url.startswith("sqlite"):
        return (
            f"the run store is a SQLite file ({runs_url}) and the Ray cluster spans {hosts} "
            "machines; use a PostgreSQL store every machine reaches: state_url = "
            '"postgresql+psycopg://user@host/db" in the profile, or LEGATO_STATE_URL'
        )
    local = artifacts_url is not None and artifacts_url.startswith("file:")
    if local and not folder_everywhere:
        return (
            f"the artifact root {artifacts_url} is a folder some of the cluster's {hosts} "
            'machines do not see; use S3 (artifacts_url = "s3://bucket/prefix") or a '
            "path every machine mounts (LEGATO_ARTIFACTS_URL)"
        )
    return None


def _exists(path: str) -> bool:
    return os.path.exists(path)


def seen_everywhere(path: str) -> bool:
    """Whether a file exists at ``path`` on every alive node (one zero-CPU probe each)."""
    probe = ray.remote(_exists)
    alive = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
    refs = [
        probe.options(
            num_cpus=0,
            scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                node["NodeID"], soft=False
            ),
        ).remote(path)
        for node in alive
    ]
    return all(ray.get(refs, timeout=120))


class Relay:
    """Collects what workers send the driver (attempt starts, captured output and tracked
    values, pickled) until the executor takes it, and holds what the driver keeps for the
    workers (what a run's attempts share, its functions): an actor placed on the driver's
    node, which workers find by its name."""

    def __init__(self) -> None:
        self._items: list[bytes] = []
        self._event = asyncio.Event()
        self._kept: dict[str, bytes] = {}

    async def keep(self, key: str, data: bytes) -> None:
        """Hold ``data`` for the workers (what a run's attempts share, its functions)."""
        self._kept[key] = data

    async def kept(self, key: str) -> bytes | None:
        return self._kept.get(key)

    async def drop(self, prefix: str) -> None:
        """Let go of what an executor kept (it closed)."""
        for key in [k for k in self._kept if k.startswith(prefix)]:
            del self._kept[key]

    async def put(self, message: bytes) -> None:
        self._items.append(message)
        self._event.set()

    async def take(self, wait: float) -> list[bytes]:
        if not self._items:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), wait)
        self._event.clear()
        items, self._items = self._items, []
        return items


class Hub:
    """The relay of this process's Ray connection and the thread taking from it, shared by
    every run the process drives (an actor takes a worker process, and a second to start):
    each message goes to the run it names, through the callback its executor registered."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.name = f"legato-relay-{uuid.uuid4().hex}"
        """The relay actor's name in the job's namespace, by which workers find it."""
        self.relay = _start_relay(self.name)
        self._sinks: dict[str, Callable[[Any], None]] = {}
        self._after: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._take, name="legato-ray-relay", daemon=True)

    def register(self, run_id: str, sink: Callable[[Any], None]) -> None:
        """Send what the workers of ``run_id``'s attempts report to ``sink``."""
        with self._lock:
            self._sinks[run_id] = sink

    def release(self, sink: Callable[[Any], None]) -> None:
        with self._lock:
            for run_id in [r for r, s in self._sinks.items() if s == sink]:
                del self._sinks[run_id]

    def after_drain(self, then: Callable[[], None]) -> None:
        """Call ``then`` once what the relay holds now has been dispatched (an outcome
        arrived whose attempt sent some: it counts only after what it printed and
        tracked). Called from Ray's callback threads, which must not block."""
        with self._lock:
            self._after.append(then)
        self.relay.put.remote(b"")  # ends a take waiting now, so the next starts at once

    def _current(self) -> bool:
        """Whether this process is still connected as this hub's job (not shut down, and
        not since connected to another cluster)."""
        if not ray.is_initialized():
            return False
        context = ray.get_runtime_context()
        return f"{context.get_job_id()}@{context.get_node_id()}" == self.job

    def _take(self) -> None:
        while self._current():
            with self._lock:
                after, self._after = self._after, []
            try:
                messages = ray.get(self.relay.take.remote(0.0 if after else _TAKE_WAIT_S))
            except BaseException:  # ray.shutdown() ends a get with SystemExit
                if not self._current():
                    return
                messages = []
                if not after:
                    time.sleep(_TAKE_WAIT_S)
            self._dispatch(messages)
            for then in after:
                then()

    def _dispatch(self, messages: list[bytes]) -> None:
        for message in messages:
            if not message:
                continue
            item = pickle.loads(message)
            run_id = item[1] if isinstance(item, tuple) else _run_of(item)
            with self._lock:
                sink = self._sinks.get(run_id)
            if sink is not None:
                sink(item)


_TAKE_WAIT_S = 0.25
_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def _run_of(entries: list[Any]) -> str:
    """The run a batch of captured output and tracked values belongs to (a worker runs
    one attempt at a time, and sends each attempt's before its outcome)."""
    return str(entries[0].run_id) if entries else ""


def hub() -> Hub:
    """The hub of this process's Ray connection, started on first use. A connection is
    its job on its cluster: a local cluster started again numbers its jobs from 1 again,
    but its driver's node is a new one."""
    context = ray.get_runtime_context()
    job = f"{context.get_job_id()}@{context.get_node_id()}"
    with _hubs_lock:
        found = _hubs.get(job)
        if found is None:
            found = _hubs[job] = Hub(job)
            found._thread.start()  # once it is the hub: it runs while it stays so
        return found


def _start_relay(name: str) -> Any:
    """A relay actor on this node (it holds no CPU), named ``name``."""
    node = ray.get_runtime_context().get_node_id()
    actor = ray.remote(Relay).options(
        name=name,
        num_cpus=0,
        max_concurrency=64,
        scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            node, soft=False
        ),
    )
    return actor.remote()
