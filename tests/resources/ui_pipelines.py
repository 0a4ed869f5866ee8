"""Pipelines the web UI tests drive: a run that fails with a traceback and a log, and a big
run held live, beside the server tests' pipelines (tests/resources/server_pipelines.py)."""

from __future__ import annotations

import time
from pathlib import Path

from legato import pipeline, task


@task
def load(rows: int) -> list[int]:
    print(f"loaded {rows} rows")
    return list(range(rows))


@task
def check(values: list[int]) -> int:
    for i in range(3):
        print(f"checking batch {i}")
    raise ValueError(f"batch 3 of {len(values)} rows has a negative label")


@task
def report(count: int) -> str:
    return f"{count} rows"


@pipeline
def broken(rows: int = 10) -> str:
    """load, then a check that fails (its log has three lines), then a report it skips."""
    return report(check(load(rows)))


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def double(x: int) -> int:
    return 2 * x


@task
def held_total(values: list[int], marker: str) -> int:
    """Waits until the file ``marker`` exists (60 s at most): a big run held live."""
    deadline = time.monotonic() + 60
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return sum(values)


@pipeline
def big(n: int = 6000, marker: str = "") -> int:
    """A map of ``n`` items (more than the web UI lists whole), then a total held until
    ``marker`` exists."""
    return held_total(double.map(numbers(n)), marker)
