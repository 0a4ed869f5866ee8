"""Pipelines the web UI tests drive: a run that fails with a traceback and a log, beside the
server tests' pipelines (tests/resources/server_pipelines.py)."""

from __future__ import annotations

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
