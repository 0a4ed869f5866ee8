"""Pipelines whose runs the reading commands look at (``legato runs show``, ``metrics``,
``artifacts``, ``logs``, ``runs compare``): a task retried after logging and printing, a map
whose items log metrics, outputs of every built-in serialiser, and tasks that print nothing."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

import legato
from legato import RetryPolicy, pipeline, task


@task(retry=RetryPolicy(attempts=3, delay=0.0, jitter=0.0))
def fit(epochs: int) -> dict[str, float]:
    """Attempts 1 and 2 log a loss, print and fail; attempt 3 logs a falling loss and
    succeeds."""
    ctx = legato.context()
    assert ctx is not None
    legato.log_param("epochs", epochs)
    legato.set_tags(stage="dev")
    print(f"attempt {ctx.attempt} starts")
    if ctx.attempt < 3:
        legato.log_metric("loss", 9.0)
        print(f"attempt {ctx.attempt} fails", file=sys.stderr)
        raise ConnectionError(f"network down on attempt {ctx.attempt}")
    for epoch in range(epochs):
        legato.log_metric("loss", 1.0 / (epoch + 1))
    legato.log_metric("loss", math.nan, step=epochs)  # a failed evaluation: left out of min
    legato.log_metric("accuracy", 0.8)
    legato.log_artifact({"weights": [1, 2, 3]}, "weights")
    return {"loss": 1.0 / epochs}


@task
def quiet(model: dict[str, float]) -> str:
    return "done"


@pipeline
def retried(epochs: int = 4) -> dict[str, object]:
    model = fit(epochs)
    return {"model": model, "status": quiet(model), "epochs": epochs, "note": "v1"}


@task
def train(fold: int) -> float:
    for step in range(3):
        legato.log_metric("score", fold + step / 10)
    return fold * 1.5


@pipeline
def folds() -> list[float]:
    return train.map([1, 2, 3])


class Model:
    """An object only pickle stores."""

    def __init__(self, size: int) -> None:
        self.size = size


@task
def array() -> np.ndarray:
    return np.zeros((3, 4), dtype=np.float32)


@task
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})


@task
def model() -> Model:
    return Model(3)


@task
def text() -> str:
    return "y" * 100_000  # past the inline limit: a file in the artifact store


@pipeline
def kinds() -> tuple[object, ...]:
    return array(), frame(), model(), text()


@task
def silent() -> int:
    return 1


@pipeline
def mute() -> int:
    return silent()


@task
def shards() -> list[int]:
    return [10, 20, 30]


@task
def double(shard: int) -> int:
    return shard * 2


@pipeline
def sharded() -> dict[str, object]:
    parts = shards()
    return {"shards": parts, "doubled": double.map(parts), "first": parts[0]}


def _tripped(path: str) -> None:
    """What loading a :class:`Tripwire` does: it says so in the ledger."""
    with open(path, "a") as ledger:
        ledger.write("unpickled\n")


class Tripwire:
    """A pickle that leaves a mark when something loads it."""

    def __init__(self, ledger: str) -> None:
        self.ledger = ledger

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_tripped, (self.ledger,))


@task
def trap(ledger: str) -> Tripwire:
    return Tripwire(ledger)


@pipeline
def trapped(ledger: str) -> Tripwire:
    return trap(ledger)


@task
def invert(x: int) -> float:
    return 1 / x


@pipeline(failure_policy="keep_going")
def partly() -> list[float]:
    return invert.map([1, 0, 2])


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def checked(x: int) -> int:
    """Fails for every 40th item from the 7th."""
    if x % 40 == 7:
        raise ValueError(f"item {x} is bad")
    return x


@pipeline(failure_policy="keep_going")
def wide(n: int = 1001) -> list[int]:
    """More tasks than ``legato runs show`` lists one by one (1,002), 25 of them failing."""
    return checked.map(numbers(n))


@task
def counted(n: int) -> list[int]:
    print(f"counting to {n}")
    return list(range(n))


@task
def said(x: int) -> int:
    print(f"item {x}")
    return x


@pipeline
def chatty(n: int = 3) -> list[int]:
    """A task and the items of a map that each print a line."""
    return said.map(counted(n))
