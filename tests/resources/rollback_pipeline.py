"""Pipelines with compensations (``on_rollback``), for rollback tests; also a script for the
crash tests: ``run`` or ``resume RUN_ID``.

Every task and every handler appends a line to the ledger named by ``LEGATO_TEST_LEDGER``
(``do KEY`` / ``undo KEY``), so a test can count how often each really ran across a crash and a
resume. ``LEGATO_TEST_DIE_IN_UNDO=KEY`` makes that handler kill its own process (SIGKILL) the
first time, after its ledger line: a handler in flight when the orchestrator dies.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from ledger_notes import note

import legato
from legato import CachePolicy, RollbackContext, pipeline, task


def undo(output: object, ctx: RollbackContext) -> None:
    note("undo", ctx.key, output, ctx.attempt)
    victim = os.environ.get("LEGATO_TEST_DIE_IN_UNDO")
    if victim == ctx.key:
        marker = Path(os.environ["LEGATO_TEST_LEDGER"] + ".died")
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


def undo_output_only(output: object) -> None:
    note("undo", f"item{output}", output, 1)


def undo_that_fails(output: object, ctx: RollbackContext) -> None:
    note("undo", ctx.key, output, ctx.attempt)
    if not os.environ.get("LEGATO_TEST_UNDO_WORKS"):
        raise RuntimeError("the registry is unreachable")


@task(on_rollback=undo)
def create(name: str) -> str:
    note("do", "create", name)
    return name


@task(on_rollback=undo)
def publish(name: str) -> str:
    note("do", "publish", name)
    return f"{name}-published"


@task
def plain(x: str) -> int:
    note("do", "plain", x)
    return len(x)


@task(on_rollback=undo_output_only)
def item(i: int) -> int:
    note("do", f"item{i}", i)
    return i


@task(on_rollback=undo_that_fails)
def fragile(name: str) -> str:
    note("do", "fragile", name)
    return name


@task
def explode(*inputs: object) -> None:
    note("do", "explode")
    if not os.environ.get("LEGATO_TEST_NO_EXPLOSION"):
        raise ValueError("evaluation failed")


@pipeline
def saga() -> None:
    """create -> publish -> plain -> explode: publish is undone, then create."""
    made = create("m")
    shown = publish(made)
    explode(plain(shown))


@pipeline
def saga_map() -> None:
    """Three map items with a handler each, and a task after them that fails."""
    explode(item.map([0, 1, 2]), create("m"))


@pipeline
def saga_fragile() -> None:
    """The first handler to run (fragile's) fails; create's still runs."""
    made = create("m")
    explode(fragile(made))


cached_create = create.with_options(name="cached_create", cache=CachePolicy())


@pipeline
def saga_cached() -> None:
    """create may be a cache hit (an explicit CachePolicy); publish never is."""
    explode(publish(cached_create("m")))


def main(argv: list[str]) -> int:
    if argv[1] == "run":
        result = legato.run(saga, executor=os.environ.get("LEGATO_TEST_EXECUTOR"))
    else:
        result = legato.resume(argv[2])
    print(result.run_id, result.state.value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
