"""Pipelines whose tasks count the outputs of earlier tasks still alive in this process: an
output every reader of which has succeeded is no longer held by the run."""

from __future__ import annotations

import gc
import weakref

from legato import pipeline, task

made: list[weakref.ref[Blob]] = []
"""A weak reference to each Blob a task made, in this process."""


class Blob:
    def __init__(self, n: int) -> None:
        self.data = bytes(n)


@task
def make(n: int) -> Blob:
    blob = Blob(n)
    made.append(weakref.ref(blob))
    return blob


@task
def size(blob: Blob) -> int:
    return len(blob.data)


@task
def alive(n: int) -> int:
    gc.collect()
    return sum(1 for ref in made if ref() is not None)


@pipeline
def chain() -> int:
    return alive(size(make(1000)))


@pipeline
def returned() -> tuple[int, Blob]:
    blob = make(1000)
    return alive(size(blob)), blob
