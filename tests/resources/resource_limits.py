"""Pipelines for run-time resources: tasks that need a custom resource (``db``) the machine
does not have, and tasks that allocate more memory than their limit."""

from __future__ import annotations

import os

from ledger_notes import note

from legato import Resources, pipeline, task

__all__ = ["MIB", "over_the_limit", "two_db_tasks"]

MIB = 1024**2


@task(resources=Resources(custom={"db": 1}))
def query(table: str) -> str:
    note("query-start", table)
    note("query-end", table)
    return table.upper()


@pipeline
def two_db_tasks() -> list[str]:
    return [query("users"), query("orders")]


@task(resources=Resources(memory=64 * MIB, limit=True))
def hog(size: int) -> int:
    note("hog", os.getpid())
    return len(bytearray(size))


@task
def big(size: int) -> int:
    """No limit: the same worker may allocate as much once the limited call is over."""
    note("big", os.getpid())
    return len(bytearray(size))


@pipeline
def over_the_limit() -> list[int]:
    return [hog(256 * MIB), big(128 * MIB), hog(MIB)]
