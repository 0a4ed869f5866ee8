"""The Ray cluster a run uses: joining it (or starting a local one), what its nodes offer,
and checking that its nodes run what the driver runs (the relay through which workers report
back is :mod:`legato.executors.ray_relay`).

Ray maps onto legato's resources one to one: ``cpus`` → ``CPU``, ``gpus`` → ``GPU``,
``memory`` → ``memory`` (bytes), custom amounts → Ray's custom resources. A node's own
resources (``node:<ip>``, ``object_store_memory``, accelerator types) are not legato's.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import ray
from ray import exceptions as rex

from legato._version import __version__
from legato.errors import ExecutorError
from legato.model.specs import Capacity

__all__ = [
    "Cluster",
    "check_versions",
    "connect",
    "describe_loss",
    "node_capacities",
    "scaled",
    "machines",
    "seen_everywhere",
    "check_storage",
    "objects_pay",
    "storage_problem",
    "through_client",
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
    hosts: int,
    runs_url: str | None,
    artifacts_url: str | None,
    folder_everywhere: bool,
    *,
    driver_apart: bool = False,
) -> str | None:
    """Why a cluster on ``hosts`` machines cannot use these stores, or None.

    Every node writes the artifacts, so a local folder must be one every machine mounts
    (``folder_everywhere``: a file the driver wrote there was seen by every machine): the
    driver's machine included, which is none of the cluster's when it joins through Ray
    Client (``driver_apart``). The run store is written by the driver alone, but SQLite
    files are not for sharing over a network, and resuming from another machine must find
    the run.
    """
    local = artifacts_url is not None and artifacts_url.startswith("file:")
    if driver_apart and local and not folder_everywhere:
        return (
            f"the artifact root {artifacts_url} is a folder of this machine, which joins "
            "the Ray cluster through Ray Client and whose folders its nodes do not see; use "
            'S3 (artifacts_url = "s3://bucket/prefix") or a path the nodes mount too '
            "(LEGATO_ARTIFACTS_URL)"
        )
    if hosts < 2:
        return None
    if runs_url is not None and runs_url.startswith("sqlite"):
        return (
            f"the run store is a SQLite file ({runs_url}) and the Ray cluster spans {hosts} "
            "machines; use a PostgreSQL store every machine reaches: state_url = "
            '"postgresql+psycopg://user@host/db" in the profile, or LEGATO_STATE_URL'
        )
    if local and not folder_everywhere:
        return (
            f"the artifact root {artifacts_url} is a folder some of the cluster's {hosts} "
            'machines do not see; use S3 (artifacts_url = "s3://bucket/prefix") or a '
            "path every machine mounts (LEGATO_ARTIFACTS_URL)"
        )
    return None


def check_storage(runs_url: str | None, artifacts_url: str | None) -> None:
    """Refuse stores the cluster's machines cannot all use (:func:`storage_problem`),
    probing whether a local artifact folder is one every machine mounts."""
    hosts = len(machines())
    apart = through_client()
    if hosts < 2 and not apart:
        return
    everywhere = False
    if artifacts_url is not None and artifacts_url.startswith("file:"):
        root = Path(urllib.parse.unquote(urllib.parse.urlparse(artifacts_url).path))
        root.mkdir(parents=True, exist_ok=True)
        marker = root / f".legato-probe-{uuid.uuid4().hex}"
        marker.touch()
        try:
            everywhere = seen_everywhere(str(marker))
        finally:
            marker.unlink(missing_ok=True)
    problem = storage_problem(hosts, runs_url, artifacts_url, everywhere, driver_apart=apart)
    if problem is not None:
        raise ExecutorError(f"the ray executor cannot run here: {problem}")


def through_client() -> bool:
    """Whether this process joins its cluster through Ray Client (``ray://``): then it runs
    on a machine of its own, none of the cluster's."""
    return bool(ray.util.client.ray.is_connected())  # type: ignore[no-untyped-call]


def objects_pay(artifacts_url: str | None, hosts: int) -> bool:
    """Whether an output stored apart should also be handed to its consumers as a Ray
    object. Not when every node runs on one machine and the artifacts are a folder on it:
    a consumer there maps the artifact's file (verified by the stamp its writer noted, not
    hashed again), while Ray's object is a second copy of it, made on the producer's
    critical path (1 GiB: 0.1 to 0.3 s into a local cluster's object store, against 0.015 s
    to map the file). Across machines, or with artifacts in S3, the object is what a
    consumer reads without going to the artifact store. Without an artifact store, the
    object is the only way."""
    local = artifacts_url is not None and artifacts_url.startswith("file:")
    return not (local and hosts < 2)


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


def describe_loss(exc: BaseException) -> str:
    """Why an attempt ended without an outcome of its own, in legato's words."""
    text = str(exc).strip().splitlines()
    detail = f" ({text[0][:300]})" if text else ""
    if isinstance(exc, rex.OutOfMemoryError):
        return (
            "out of memory: Ray's memory monitor killed the worker because its node ran out "
            f"of memory{detail}; declare more memory= for the task or free the node"
        )
    if isinstance(exc, rex.NodeDiedError):
        return f"the Ray node running it died{detail}"
    if isinstance(exc, rex.WorkerCrashedError):
        return f"the Ray worker died under it (crash, kill or its node lost){detail}"
    if isinstance(exc, rex.TaskCancelledError):
        return f"Ray cancelled it{detail}"
    if isinstance(exc, rex.RayError):
        return f"Ray could not run it: {type(exc).__name__}{detail}"
    return f"the Ray executor lost it: {type(exc).__name__}{detail}"
