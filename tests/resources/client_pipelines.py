"""Pipelines whose recorded runs the Python client reads back: a map, tracked metrics and
tags, outputs of several shapes (a task's, a parameter, literals, an object with no literal
form) and a task that fails on demand."""

from __future__ import annotations

from pathlib import Path

import legato
from legato import pipeline, task


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def square(x: int) -> int:
    return x * x


@task
def total(values: list[int], lr: float, fail: bool) -> dict[str, float]:
    if fail:
        raise ValueError("asked to fail")
    legato.log_metric("loss", 1.0, step=0)
    legato.log_metric("loss", lr, step=1)
    legato.set_tags({"stage": "test"})
    return {"sum": float(sum(values)), "lr": lr}


@pipeline
def train(n: int = 3, lr: float = 0.1, fail: bool = False) -> dict[str, object]:
    """A map of squares summed; returns the sum's dict, the parameter and literals."""
    squares = square.map(numbers(n))
    return {"result": total(squares, lr, fail), "n": n, "version": ("v", 1), "squares": squares}


@pipeline
def with_object() -> tuple[int, object]:
    """Returns a value written in its body whose repr is no Python literal."""
    return (square(3), Path("/tmp/somewhere"))
