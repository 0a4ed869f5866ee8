"""Tasks for random pipelines with conditions (tests/engine/test_branch_properties.py)."""

from __future__ import annotations

from typing import Any

from legato import task


@task
def work(fail: bool, *inputs: Any) -> int:
    if fail:
        raise ValueError("failed on purpose")
    return 1 + sum(i for i in inputs if isinstance(i, int))


@task
def cond(value: bool, *inputs: Any) -> bool:
    return value


@task
def cond_of(values: tuple[bool, ...], item: int, *inputs: Any) -> bool:
    """One item's condition: its value of ``values``."""
    return values[item]
