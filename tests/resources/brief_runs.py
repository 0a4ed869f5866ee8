"""A pipeline small enough to run a thousand times in a test: two tasks side by side (one
pauses a moment, so the other's success is committed by the journal's writer thread while
it runs) and a third that joins them."""

from __future__ import annotations

import time

from legato import pipeline, task

__all__ = ["brief", "join", "pause", "quick"]


@task
def pause(i: int) -> int:
    time.sleep(0.002)
    return i


@task
def quick(i: int) -> int:
    return i + 1


@task
def join(a: int, b: int) -> int:
    return a + b


@pipeline
def brief(i: int) -> int:
    return join(pause(i), quick(i))
