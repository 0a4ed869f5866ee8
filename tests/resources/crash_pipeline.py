"""A pipeline for crash-recovery tests, run as a script: ``run`` or ``resume RUN_ID``.

Every task execution appends its key to the ledger file named by ``LEGATO_TEST_LEDGER``, so
a test can count how often each task really ran across a crash and a resume.
"""

from __future__ import annotations

import os
import sys

import legato
from legato import pipeline, task


def _note(key: str) -> None:
    with open(os.environ["LEGATO_TEST_LEDGER"], "a") as ledger:
        ledger.write(key + "\n")


@task
def step(i: int, x: int) -> int:
    _note(f"step{i}")
    return x + 1


@task
def items(n: int) -> list[int]:
    _note("items")
    return list(range(n))


@task
def square(x: int) -> int:
    _note(f"square{x}")
    return x * x


@task
def total(squares: list[int], x: int) -> int:
    _note("total")
    return sum(squares) + x


@pipeline
def crashy() -> int:
    x = 0
    for i in range(6):
        x = step(i, x)
    return total(square.map(items(3)), x)


@pipeline
def long_chain() -> int:
    x = 0
    for i in range(100):
        x = step(i, x)
    return x


def _offload() -> None:
    """With ``LEGATO_TEST_OFFLOAD``, every append goes through the store's append process."""
    from legato.engine.storage import resolve_storage
    from legato.store.sql import store as sql_store

    sql_store.OFFLOAD_MIN_EVENTS = 1  # even the inline executor's commits of 2 events

    storage = resolve_storage(None)
    assert storage is not None
    assert storage.runs.start_offload(wait=True)  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    target = long_chain if os.environ.get("LEGATO_TEST_LONG") else crashy
    if os.environ.get("LEGATO_TEST_OFFLOAD"):
        _offload()
    if argv[1] == "run":
        try:
            result = legato.run(target, executor=os.environ.get("LEGATO_TEST_EXECUTOR"))
        except legato.RunInterrupted as exc:
            print(exc.result.run_id, exc.result.state.value)
            return 130
        print(result.run_id, result.state.value, result.output)
        return 0
    result = legato.resume(argv[2])
    print(result.run_id, result.state.value, result.output)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
