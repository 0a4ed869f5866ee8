"""Pipelines whose runs the API server tests read, follow, cancel and start: real runs with
a map, tracked metrics and tags, printed output, and a slow chain to watch live."""

from __future__ import annotations

import time
from pathlib import Path

import legato
from legato import RetryPolicy, pipeline, task


@task
def prepare(n: int) -> list[int]:
    print(f"preparing {n} values")
    return list(range(n))


@task
def square(x: int) -> int:
    return x * x


@task
def fit(values: list[int], score: float) -> float:
    for step in range(5):
        legato.log_metric("loss", 1.0 / (step + 1) + score, step=step)
    legato.log_metric("score", score)
    legato.set_tags({"team": "vision" if score > 0.5 else "speech"})
    print(f"fitted {len(values)} values")
    return score + sum(values)


@pipeline
def scored(n: int = 3, score: float = 0.5) -> float:
    """A map of ``n`` squares, then a fit that logs ``score``."""
    return fit(square.map(prepare(n)), score)


@task
def tick(previous: int, pause: float) -> int:
    time.sleep(pause)
    print(f"tick {previous + 1}")
    return previous + 1


@task
def gate(value: int, marker: str) -> int:
    """Waits until the file ``marker`` exists (60 s at most): a run stays live until the
    test lets it end ("" : no wait)."""
    deadline = time.monotonic() + 60
    while marker and not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


@pipeline
def slow(pause: float = 0.05, marker: str = "") -> int:
    """A chain of 30 ticks, ``pause`` seconds each, then a gate that holds the run until
    ``marker`` exists: a run to watch live."""
    value = tick(0, pause)
    for _ in range(29):
        value = tick(value, pause)
    return gate(value, marker)


@task(retry=RetryPolicy(attempts=2, delay=0.0, jitter=0.0))
def wobbly(lines: int) -> str:
    """Prints ``lines`` lines (with characters of several bytes) per attempt; the first
    attempt fails."""
    ctx = legato.context()
    assert ctx is not None
    for i in range(lines):
        print(f"attempt {ctx.attempt} line {i} naïve ✓")
    if ctx.attempt == 1:
        raise ConnectionError("first attempt fails")
    return "ok"


@pipeline
def retried(lines: int = 3) -> str:
    return wobbly(lines)


@task
def fails_once(marker: str) -> str:
    """Fails while the file ``marker`` does not exist, making it: the run fails, and its
    resume succeeds."""
    if not Path(marker).exists():
        print(f"no {marker} yet")
        Path(marker).write_text("failed once")
        raise RuntimeError(f"the first run fails: {marker} did not exist")
    return "ok"


@pipeline
def once(marker: str) -> str:
    return fails_once(marker)


@task
def train_model(values: list[int], accuracy: float) -> int:
    legato.log_param("depth", 3)
    mv = legato.register_model("churn", {"weights": values}, metrics={"accuracy": accuracy})
    assert mv is not None
    return mv.version


@pipeline
def registered(accuracy: float = 0.9) -> int:
    """Registers a version of model ``churn`` trained on ``prepare``'s output."""
    return train_model(prepare(2), accuracy)


class Opaque:
    """An object only a pickle can hold."""

    def __init__(self, n: int) -> None:
        self.n = n


@task
def table(n: int) -> object:
    import pandas as pd

    return pd.DataFrame({"x": list(range(n)), "name": [f"row {i}" for i in range(n)]})


@task
def array(n: int) -> object:
    import numpy as np

    return np.zeros((n, 3), dtype="float32")


@task
def summary(n: int) -> dict[str, object]:
    legato.log_artifact({"n": n, "note": "logged"}, "report")
    return {"n": n, "values": list(range(n))}


@task
def opaque(n: int) -> Opaque:
    return Opaque(n)


@pipeline
def outputs(n: int = 4) -> tuple[object, object, dict[str, object], Opaque]:
    """One output of each kind a preview reads: a table, an array, JSON, a pickle."""
    return table(n), array(n), summary(n), opaque(n)
