"""Pipelines the web UI's scale benchmark records (benchmarks/ui_scale.py): a map of many
trivial items, and a task that prints a very long log."""

from __future__ import annotations

from legato import pipeline, task


@task
def items(n: int) -> list[int]:
    return list(range(n))


@task
def double(x: int) -> int:
    return 2 * x


@task
def total(values: list[int]) -> int:
    return sum(values)


@pipeline
def wide(n: int = 100_000) -> int:
    """``n`` mapped items between two tasks: a run page of ``n + 2`` tasks."""
    return total(double.map(items(n)))


@task
def chatter(lines: int) -> int:
    for i in range(lines):
        print(f"line {i} of the log of a very chatty task")
    return lines


@pipeline
def chatty(lines: int = 1_000_000) -> int:
    """One task that prints ``lines`` lines."""
    return chatter(lines)
