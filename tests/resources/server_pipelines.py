"""Pipelines whose runs the API server tests read, follow, cancel and start: real runs with
a map, tracked metrics and tags, printed output, and a slow chain to watch live."""

from __future__ import annotations

import time

import legato
from legato import pipeline, task


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


@pipeline
def slow(pause: float = 0.05) -> int:
    """A chain of 30 ticks, ``pause`` seconds each: a run long enough to watch."""
    value = tick(0, pause)
    for _ in range(29):
        value = tick(value, pause)
    return value
