"""Checks the executor tests share: executors sized for a 2-core machine, every task ended,
processes really gone."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from legato import (
    Executor,
    InlineExecutor,
    ProcessesExecutor,
    RunResult,
    TaskState,
    ThreadsExecutor,
)

__all__ = [
    "RESOURCES",
    "assert_all_terminal",
    "describe",
    "make_executor",
    "process_gone",
    "states",
    "wait_until_gone",
]

RESOURCES = Path(__file__).parent
"""This folder: scripts the tests run in subprocesses live here."""


def make_executor(name: str, *, workers: int = 2, kill_grace: float = 0.5) -> Executor:
    """The executor ``name`` with ``workers`` slots whatever the machine, and a short grace
    period before SIGKILL so that tests stay fast."""
    if name == "inline":
        return InlineExecutor()
    if name == "threads":
        return ThreadsExecutor(max_workers=workers)
    if name == "processes":
        return ProcessesExecutor(max_workers=workers, kill_grace=kill_grace)
    if name == "ray":  # the cluster this process is connected to (tests/conftest.py)
        from legato.executors.ray_executor import RayExecutor  # Ray is imported only here

        return RayExecutor()
    raise ValueError(name)


def states(result: RunResult) -> dict[str, TaskState]:
    """Every task's final state by key."""
    return {key: record.state for key, record in result.tasks.items()}


def describe(result: RunResult) -> str:
    """Every task's state, attempt and reason: the message of a failed assertion."""
    lines = [f"run {result.state.value}: {result.record.reason}"]
    lines += [
        f"  {key}: {record.state.value} (attempt {record.attempt}) {record.reason}"
        for key, record in result.tasks.items()
    ]
    return "\n".join(lines)


def assert_all_terminal(result: RunResult) -> None:
    """No task of a finished run is left pending, ready, running or waiting for a retry."""
    stuck = {k: s.value for k, s in states(result).items() if not s.is_terminal}
    assert not stuck, f"tasks left non-terminal: {stuck}\n{describe(result)}"
    assert result.state.is_terminal


def process_gone(pid: int) -> bool:
    """Whether process ``pid`` no longer runs. A zombie (dead, not yet reaped by its parent,
    which for an orphan is an init that may never reap) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return state.split()[1] in ("Z", "X")


def wait_until_gone(pids: list[int], timeout: float = 3.0) -> list[int]:
    """The pids still running after ``timeout`` seconds (empty when all are gone). Signals
    are delivered asynchronously, so a just-killed process may take a moment to die."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if not process_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if not process_gone(p)]
    return alive


def most_at_once(spans: Sequence[tuple[Any, ...]]) -> int:
    """The most of ``spans`` (each starting with its start and end time) that overlap."""
    edges = sorted([(s[0], 1) for s in spans] + [(s[1], -1) for s in spans])
    running = most = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        running += step
        most = max(most, running)
    return most
