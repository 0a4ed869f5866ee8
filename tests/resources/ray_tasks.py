"""Tasks and pipelines the Ray executor's tests run. Ray workers import this module (the
cluster's PYTHONPATH holds tests/resources); files they write are passed as arguments,
since a worker's environment is the cluster's, not the test's."""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import time
from pathlib import Path

import legato
from legato import Resources, RetryPolicy, gates, pipeline, task
from legato.deployment import Deployment
from legato.executors.ray_relay import Relay
from legato.model.registry import ModelVersion

__all__ = [
    "chain",
    "chatty",
    "fitted",
    "gpu_pair",
    "half_gpus",
    "handoff",
    "hungry",
    "lost_handoff",
    "naps",
    "pair",
    "parallel",
    "pause",
    "slow_chain",
    "special",
    "stuck",
]

RETRY_ONCE = RetryPolicy(attempts=2, delay=0.0, jitter=0.0)


def _note(ledger: str, *parts: object) -> None:
    line = " ".join(str(p) for p in parts) + "\n"
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _node() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


@task
def plus(x: int, y: int = 1) -> int:
    return x + y


@task
def talk(n: int) -> int:
    """Prints, logs and tracks a metric."""
    import logging

    print(f"hello from attempt of talk({n})")
    logging.getLogger("ray_tasks").warning("a warning from talk")
    legato.log_metric("n", float(n))
    return n * 2


@task(retry=RETRY_ONCE)
def flaky(ledger: str) -> str:
    """Fails its first attempt."""
    _note(ledger, "flaky", os.getpid())
    if sum(1 for line in Path(ledger).read_text().splitlines() if line.startswith("flaky")) < 2:
        raise RuntimeError("first attempt fails")
    return "second"


@pipeline
def chain() -> int:
    value = plus(0)
    for _ in range(4):
        value = plus(value)
    return value


@pipeline
def chatty() -> tuple[int, str]:
    return talk(4), flaky_of()


@task(retry=RETRY_ONCE)
def flaky_of() -> str:
    """Fails the first attempt of each run, told apart by the attempt number."""
    ctx = legato.context()
    if ctx is not None and ctx.attempt == 1:
        raise RuntimeError("first attempt fails")
    return "second"


@task
def where(ledger: str, label: str, hold: float = 0.0) -> str:
    start = time.time()
    time.sleep(hold)
    _note(ledger, label, _node(), start, time.time())
    return _node()


@task(resources=Resources(cpus=1, custom={"special": 1}))
def on_special(ledger: str) -> str:
    _note(ledger, "special", _node(), time.time(), time.time())
    return _node()


@pipeline
def special(ledger: str) -> str:
    return on_special(ledger)


@pipeline
def parallel(ledger: str, hold: float = 2.0) -> list[str]:
    return [where(ledger, "a", hold), where(ledger, "b", hold)]


@task(retry=RETRY_ONCE)
def busy(ledger: str, hold: float) -> str:
    """Notes where it runs, then holds its node for ``hold`` seconds (the first attempt
    only)."""
    ctx = legato.context()
    attempt = ctx.attempt if ctx is not None else 0
    _note(ledger, "busy", attempt, _node(), socket.gethostname())
    if attempt == 1:
        time.sleep(hold)
    return _node()


@pipeline
def pair(ledger: str, hold: float = 60.0) -> str:
    return busy(ledger, hold)


@task(resources=Resources(cpus=0.5, gpus=1))
def gpu_user(ledger: str, i: int) -> str:
    start = time.time()
    devices = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    time.sleep(0.5)
    _note(ledger, "gpu", i, devices, start, time.time(), _node())
    return devices


@pipeline
def gpu_pair(ledger: str) -> list[str]:
    return [gpu_user(ledger, i) for i in range(6)]


@task(timeout=1.0, retry=RetryPolicy(attempts=1))
def stuck_in_c(ledger: str) -> None:
    """Sleeps inside a C call (libc's sleep), where no Python signal handler runs."""
    _note(ledger, "stuck", os.getpid(), time.time())
    ctypes.CDLL(None).sleep(60)


@pipeline
def stuck(ledger: str) -> None:
    return stuck_in_c(ledger)


@task(resources=Resources(memory="64MiB", limit=True), retry=RetryPolicy(attempts=2, delay=0.0))
def hog() -> int:
    """Allocates far past its memory limit."""
    block = bytearray(512 * 1024**2)
    return len(block)


@pipeline
def hungry() -> int:
    return hog()


@task
def make_array(size: int) -> object:
    import numpy as np

    return np.ones(size, dtype=np.uint8)


@task
def total(array: object) -> int:
    import numpy as np

    return int(np.asarray(array).sum())


@pipeline
def handoff(size: int = 1000) -> int:
    return total(make_array(size))


@task
def slow_step(ledger: str, prev: int, hold: float) -> int:
    _note(ledger, "step", prev, os.getpid(), time.time())
    time.sleep(hold)
    return prev + 1


@pipeline
def slow_chain(ledger: str, hold: float = 1.0) -> int:
    value = slow_step(ledger, 0, hold)
    for _ in range(3):
        value = slow_step(ledger, value, hold)
    return value


@task(resources=Resources(cpus=1, custom={"special": 1}))
def made(ledger: str, size: int) -> object:
    import numpy as np

    _note(ledger, "made", _node())
    return np.ones(size, dtype=np.uint8)


@task(resources=Resources(cpus=0))
def gate(path: str) -> bool:
    while not os.path.exists(path):
        time.sleep(0.05)
    return True


@task
def summed(ledger: str, array: object, opened: bool) -> int:
    import numpy as np

    _note(ledger, "summed", _node())
    return int(np.asarray(array).sum())


@pipeline
def lost_handoff(ledger: str, gate_path: str) -> int:
    return summed(ledger, made(ledger, 1000), gate(gate_path))


@task(timeout=1.7)
def nap(i: int) -> int:
    time.sleep(1.0)
    return i


@pipeline
def naps() -> list[int]:
    return [nap(i) for i in range(4)]


@task(resources=Resources(cpus=0.25, gpus=0.5))
def half_gpu(ledger: str, i: int) -> str:
    start = time.time()
    devices = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    time.sleep(0.6)
    _note(ledger, "half", i, devices, start, time.time())
    return devices


@pipeline
def half_gpus(ledger: str) -> list[str]:
    return [half_gpu(ledger, i) for i in range(8)]


@task(retry=RETRY_ONCE)
def fit(ledger: str, fail_first: bool) -> int:
    """Registers a model, noting what this worker can see of the run store (the URL its call
    carries, where the worker's own settings put it) and the version it got back; the first
    attempt then fails when ``fail_first``."""
    from legato.config import load_settings

    ctx = legato.context()
    assert ctx is not None
    assert ctx.call is not None
    legato.log_param("alpha", 0.5)
    legato.log_metric("accuracy", 0.75)
    version = legato.register_model("ray-model", {"weights": [1, 2, 3]})
    assert version is not None
    _note(
        ledger,
        "fit",
        ctx.attempt,
        ctx.call.store_url,
        load_settings().state_url,
        version.version,
        version.attempt,
    )
    if fail_first and ctx.attempt == 1:
        raise RuntimeError("first attempt fails after registering")
    return version.version


@pipeline
def fitted(ledger: str, fail_first: bool = False) -> int:
    return fit(ledger, fail_first)


@task
def trained(name: str, accuracy: float) -> ModelVersion | None:
    return legato.register_model(name, {"weights": [4, 5]}, metrics={"accuracy": accuracy})


@task
def watched(deployment: Deployment, fail: bool) -> str:
    """A step after the deployment, which fails when ``fail`` (the run rolls back)."""
    if fail:
        raise RuntimeError("the error rate went up after the deployment")
    return f"{deployment.name}:{deployment.version}:{deployment.previous}"


@pipeline
def shipped(name: str, accuracy: float = 0.95, fail: bool = False) -> str:
    mv = trained(name, accuracy)
    deployed = legato.deploy(mv, alias="production", gates=[gates.metric_at_least("accuracy", 0.9)])
    return watched(deployed, fail)


def ask_driver(relay_name: str, run_id: str, payload: object) -> tuple[str, ...]:
    """Send a request to the driver through the relay named ``relay_name``, as a worker's
    attempt does, and say how it was answered: ``("ok", repr)`` or ``("error", type,
    message)``."""
    import ray

    from legato.executors.ray_relay import ask

    try:
        return ("ok", repr(ask(ray.get_actor(relay_name), run_id, payload)))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def pause(seconds: float) -> float:
    """Sleeps ``seconds`` and returns them: a plain Ray task, not an attempt."""
    time.sleep(seconds)
    return seconds


class HeldBack:
    """A relay stand-in (an async actor, as the relay is) whose ``put`` of ``b"slow"``
    finishes after later calls: Ray runs an async actor's calls concurrently."""

    def __init__(self) -> None:
        self._held: list[bytes] = []

    async def put(self, message: bytes, sender: str | None = None, seq: int = 0) -> None:
        if message == b"slow":
            await asyncio.sleep(0.5)
        self._held.append(message)

    async def held(self) -> list[bytes]:
        return list(self._held)


class SlowFirst(Relay):
    """The relay itself, with its ``put`` of ``b"slow"`` started late, as when a large
    message is fetched from the object store before its call runs."""

    async def put(self, message: bytes, sender: str | None = None, seq: int = 0) -> None:
        if message == b"slow":
            await asyncio.sleep(0.5)
        await super().put(message, sender, seq)
