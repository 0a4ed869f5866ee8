"""Tasks whose outputs count how often they are loaded: each unpickling of a ``Model``
appends this process's id to the file ``LEGATO_TEST_LOADS`` names."""

from __future__ import annotations

import os
from typing import Any

import legato
from legato import RetryPolicy, pipeline, task


class Model:
    """An output that is pickled to be stored, and says where it was made."""

    def __init__(self, size: int) -> None:
        self.weights = list(range(size))
        self.made_in = os.getpid()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with open(os.environ["LEGATO_TEST_LOADS"], "a", encoding="utf-8") as loads:
            loads.write(f"{os.getpid()}\n")


@task
def train(size: int) -> Model:
    return Model(size)


@task
def score(model: Model) -> dict[str, Any]:
    """Changes its input in place, as a careless task may."""
    model.weights.append(-1)
    return {"here": model.made_in == os.getpid(), "weights": len(model.weights)}


@task
def count(model: Model) -> int:
    return len(model.weights)


@task(retry=RetryPolicy(attempts=2, delay=0))
def flaky(model: Model) -> int:
    """Changes its input, then fails its first attempt: the second must see it unchanged."""
    seen = len(model.weights)
    model.weights.append(-1)
    context = legato.context()
    if context is not None and context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return seen


@pipeline
def chain() -> dict[str, Any]:
    return score(train(1000))  # type: ignore[no-any-return]


@pipeline
def two_readers() -> list[Any]:
    model = train(1000)
    return [score(model), count(model)]


@pipeline
def retried() -> int:
    return flaky(train(1000))  # type: ignore[no-any-return]
