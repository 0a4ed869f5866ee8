"""Small pipelines whose recorded runs are kept in ``histories/`` as replay-test fixtures.

Each run is deterministic: the inline executor, a ``FakeClock``, a fixed seed and a fixed run
id. ``python tests/resources/history_pipelines.py`` records them again (only do that when a
change of behaviour is intended, and say so in the commit).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import legato
from legato import RetryPolicy, task
from legato.engine.run import prepare
from legato.model.events import Event, TaskTransitioned
from legato.testing import EventRecorder, FakeClock, save_history

__all__ = ["HISTORIES", "RUNS", "record"]

HISTORIES = Path(__file__).parent / "histories"


@task(retry=RetryPolicy(attempts=3, delay=2.0, backoff=3.0, jitter=0.0))
def flaky_load(n: int) -> list[int]:
    """Fails its first two attempts."""
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt < 3:
        raise ConnectionError(f"attempt {ctx.attempt} lost the connection")
    return list(range(n))


@task
def square(x: int) -> int:
    return x * x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task(retry=RetryPolicy(attempts=2, delay=1.0, retry_on=(KeyError,)))
def broken(x: int) -> int:
    raise ValueError(f"cannot handle {x}")


@task
def report(a: int, b: int) -> str:
    return f"{a} {b}"


@legato.pipeline
def retried_map(n: int = 3) -> int:
    """Retries with backoff, then a map over a task's list output, then a sum."""
    return total(square.map(flaky_load(n)))


@legato.pipeline
def keep_going() -> tuple[int, str]:
    """A failure that is not retried (the policy names another error) and its dependent;
    an independent branch still finishes."""
    healthy = total(square.map([1, 2]))
    return healthy, report(broken(1), healthy)


@legato.pipeline(failure_policy="fail_fast")
def fail_fast() -> tuple[str, list[int]]:
    """The same failure stops the run: what had not started is cancelled."""
    bad = broken(1)
    return report(bad, 2), square.map([1, 2, 3])


class _CancelAfter:
    """Cancels the run after its ``n``-th batch of events."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.loop: Any = None

    def on_events(self, events: Sequence[Event]) -> None:
        self.n -= 1
        if self.n == 0:
            self.loop.request_cancel("cancelled by the test")


def _cancelled() -> list[Event]:
    recorder = EventRecorder()
    canceller = _CancelAfter(3)
    loop = prepare(
        retried_map,
        executor="inline",
        clock=FakeClock(),
        listeners=[recorder, canceller],
        run_id="history-cancelled",
        seed=7,
        store=False,
    )
    canceller.loop = loop
    loop.execute()
    loop.executor.close()
    return recorder.events


def _run(pipeline: legato.Pipeline[..., Any], run_id: str) -> list[Event]:
    recorder = EventRecorder()
    legato.run(
        pipeline,
        executor="inline",
        clock=FakeClock(),
        listeners=[recorder],
        run_id=run_id,
        seed=7,
        store=False,
    )
    return recorder.events


RUNS = {
    "retried_map": lambda: _run(retried_map, "history-retried-map"),
    "keep_going": lambda: _run(keep_going, "history-keep-going"),
    "fail_fast": lambda: _run(fail_fast, "history-fail-fast"),
    "cancelled": _cancelled,
}
"""How each recorded history is made, by file name (without ``.json``)."""


def portable(events: Sequence[Event]) -> list[Event]:
    """``events`` without what differs from machine to machine: tracebacks (file paths) and
    the measured run time of attempts."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, TaskTransitioned):
            error = event.error and dataclasses.replace(event.error, traceback="")
            out.append(dataclasses.replace(event, error=error, ran_for=None))
        else:
            out.append(event)
    return out


def record(names: Sequence[str] = tuple(RUNS)) -> None:
    """Record the named runs again into ``histories/``."""
    HISTORIES.mkdir(exist_ok=True)
    for name in names:
        save_history(portable(RUNS[name]()), HISTORIES / f"{name}.json")


if __name__ == "__main__":
    record(sys.argv[1:] or tuple(RUNS))
