"""A pipeline whose second task fails while a flag file exists: a run can be made to fail
after a first one filled the cache, then resumed once the flag is gone (engine and CLI tests
of what a resumed run reuses). Each task leaves a ledger note when its function runs."""

from __future__ import annotations

from pathlib import Path

from ledger_notes import note

from legato import pipeline, task

__all__ = ["double", "gate", "gated"]


@task
def double(n: int) -> int:
    note("double")
    return 2 * n


@task
def gate(value: int, flag: str) -> int:
    note("gate")
    if Path(flag).exists():
        raise RuntimeError(f"failing on purpose while {flag} exists")
    return value + 1


@pipeline
def gated(flag: str, n: int = 1) -> int:
    return gate(double(n), flag)
