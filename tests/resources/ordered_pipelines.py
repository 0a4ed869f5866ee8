"""Pipelines with order-only edges (``after=``): a task that depends on another's effect (a
table written to a file) and not on its value. Each task leaves a ledger note when it runs;
``write_table`` fails while the file ``TABLE_FAILS`` names exists.

The broken ones carry a ``# <- bad: KIND`` marker on the line their error must point at.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger_notes import note

from legato import pipeline, task

__all__ = [
    "after_itself",
    "after_not_a_task",
    "after_task_never_called",
    "cycle_through_after",
    "forward_after",
    "mapped_after",
    "ordered",
    "task_with_after_parameter",
]


def _table() -> Path:
    return Path(os.environ["LEGATO_TEST_LEDGER"]).with_name("table.txt")


@task
def write_table(rows: list[int]) -> int:
    if Path(os.environ["LEGATO_TEST_LEDGER"]).with_name("TABLE_FAILS").exists():
        raise OSError("disk full")
    _table().write_text(",".join(map(str, rows)))
    note("write_table")
    return len(rows)


@task
def count_rows() -> int:
    """Reads the table ``write_table`` writes: nothing of its output."""
    note("count_rows")
    return len(_table().read_text().split(","))


@task
def scale(x: int, factor: int) -> int:
    note("scale", x)
    return x * factor


@pipeline
def ordered() -> int:
    written = write_table([1, 2, 3])
    return count_rows(after=[written])


@pipeline
def forward_after() -> int:
    """``after=`` names a task called further down the body: every call of it."""
    counted = count_rows(after=[write_table])
    write_table([4, 5])
    return counted


@pipeline
def mapped_after() -> list[int]:
    written = write_table([1, 2])
    return scale.map([1, 2, 3], 10, after=[written])


@task
def evaluate(model: int) -> int:
    return model + 1


@task
def train(data: int) -> int:
    return data * 2


@pipeline
def cycle_through_after() -> int:
    model = train(1, after=[evaluate])  # <- bad: after_cycle
    return evaluate(model)


@pipeline
def after_itself() -> int:
    return train(1, after=[train])  # <- bad: after_itself


@pipeline
def after_task_never_called() -> int:
    return train(1, after=[write_table])  # <- bad: after_never_called


@pipeline
def after_not_a_task(ready: bool = True) -> int:
    return train(1, after=[ready])  # <- bad: after_not_a_task


@task
def schedule(after: str) -> str:
    return f"after {after}"


@pipeline
def task_with_after_parameter() -> str:
    """A task with its own ``after`` parameter gets the keyword."""
    return schedule(after="lunch")
