"""The fake clock and the event recorder."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import legato
from legato import RetryPolicy, task
from legato.testing import EventRecorder, FakeClock, load_history


def test_the_fake_clock_jumps_instead_of_sleeping() -> None:
    clock = FakeClock(start=10.0)
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    assert clock.wait(inbox, 5.0) is None
    assert clock.monotonic() == clock.time() == 15.0
    inbox.put("outcome")
    assert clock.wait(inbox, 100.0) == "outcome"  # something was there: no time passes
    assert clock.time() == 15.0
    clock.advance(0.5)
    assert clock.monotonic() == 15.5


def test_without_a_timeout_the_fake_clock_waits_for_another_thread() -> None:
    clock = FakeClock()
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    threading.Timer(0.05, inbox.put, args=("late",)).start()
    assert clock.wait(inbox, None) == "late"
    assert clock.time() == 1_000_000.0


@task(retry=RetryPolicy(attempts=2, delay=60.0, jitter=0.0))
def once_more() -> int:
    ctx = legato.context()
    assert ctx is not None
    if ctx.attempt == 1:
        raise ConnectionError("first attempt")
    return 1


@legato.pipeline
def retried() -> int:
    return once_more()


def test_the_recorder_keeps_transitions_runs_and_a_replayable_history(tmp_path: Path) -> None:
    recorder = EventRecorder()
    result = legato.run(retried, executor="inline", clock=FakeClock(), listeners=[recorder])
    assert result.ok
    assert result.duration == 60.0  # the retry delay passed without sleeping
    assert recorder.states("once_more") == [
        "ready",
        "running",
        "retry_wait",
        "ready",
        "running",
        "succeeded",
    ]
    assert recorder.runs("once_more") == 2
    assert [e.key for e in recorder.transitions()] == ["once_more"] * 6
    assert recorder.replay() == result.record
    assert recorder.check(retried.graph) == result.record
    path = tmp_path / "run.json"
    recorder.save(path)
    assert load_history(path) == recorder.events
