"""Tasks that record when they ran and which GPUs they were given."""

from __future__ import annotations

import os
import time

from ledger_notes import note

import legato
from legato import Resources, task

__all__ = ["cpu_hold", "gpu_hold", "greedy", "on_gpu", "two_cpus", "visible_gpus"]


def _hold(label: object, seconds: float) -> None:
    ctx = legato.context()
    assert ctx is not None
    start = time.time()
    time.sleep(seconds)
    gpus = ",".join(str(i) for i in ctx.gpu_ids) or "-"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "-") or "-"
    note("held", ctx.key, start, time.time(), gpus, visible)


@task(resources=Resources(cpus=2))
def two_cpus(i: int, seconds: float = 0.1) -> int:
    _hold(i, seconds)
    return i


@task(resources=Resources(cpus=64))
def greedy() -> int:
    note("greedy ran")
    return 0


@task(resources=Resources(cpus=0.5, gpus=1))
def on_gpu(i: int, seconds: float = 0.3) -> tuple[int, ...]:
    _hold(i, seconds)
    ctx = legato.context()
    assert ctx is not None
    return ctx.gpu_ids


@task
def visible_gpus(after: object = None) -> str | None:
    """``CUDA_VISIBLE_DEVICES`` as a task without GPUs sees it."""
    return os.environ.get("CUDA_VISIBLE_DEVICES")


@task(resources=Resources(cpus=0.5, gpus=1))
def gpu_hold(seconds: float, after: object = None) -> int:
    """Notes ``gpu-pid <pid> <gpu ids>``: which worker ran on which GPUs."""
    ctx = legato.context()
    assert ctx is not None
    note("gpu-pid", os.getpid(), ",".join(str(i) for i in ctx.gpu_ids))
    time.sleep(seconds)
    return os.getpid()


@task
def cpu_hold(seconds: float, after: object = None) -> int:
    time.sleep(seconds)
    return os.getpid()
