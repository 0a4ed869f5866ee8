"""A pipeline whose task sleeps a known time and fails its first attempt: what legato spends
around a function, per attempt."""

from __future__ import annotations

import time

import legato
from legato import RetryPolicy, pipeline, task


@task
def start() -> int:
    return 1


@task(retry=RetryPolicy(attempts=2, delay=0.0, jitter=0.0))
def nap(x: int, seconds: float) -> int:
    time.sleep(seconds)
    ctx = legato.context()
    if ctx is not None and ctx.attempt == 1:
        raise ConnectionError("first attempt fails")
    return x + 1


@pipeline
def napping(seconds: float = 0.2) -> int:
    return nap(start(), seconds)
