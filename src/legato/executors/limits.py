"""Memory limits of the processes executor: ``Resources(memory="2GiB", limit=True)``.

A worker process sets its data limit (``RLIMIT_DATA``: the heap and every private writable
mapping, which is where Python, NumPy and most native libraries put what they allocate)
before the call to what it already uses plus the task's ``memory``, and sets it back after
the call. An allocation past it fails inside the task as a ``MemoryError``, which the
worker reports as the attempt's error, saying which limit it hit: the worker itself lives
on and takes the next call, where the kernel's out-of-memory killer would have taken the
worker (and, under a cgroup limit, perhaps others) with it.

The limit counts what the task adds to the worker, not the worker's own interpreter and
imports, so ``memory`` means the same whatever the worker had loaded before. Threads and
inline calls share the orchestrator's process, which no limit of one task can cover: there
``memory`` stays a request the scheduler counts.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import replace

if sys.platform != "win32":
    import resource

from legato.model.calls import TaskOutcome
from legato.model.specs import Resources

__all__ = ["describe_limit", "memory_limit"]

_MEMORY_ERRORS = frozenset({"builtins.MemoryError", "numpy.core._exceptions._ArrayMemoryError"})


def _data_in_use() -> int | None:
    """Bytes of this process's data segment (``VmData``), where Linux tells."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def memory_limit(resources: Resources) -> Iterator[int | None]:
    """Hold this process to ``resources.memory`` more data while the block runs, when the
    task asks for a limit; yields the limit set (bytes over the process's use), or None."""
    if not (resources.limit and resources.memory) or sys.platform == "win32":
        yield None
        return
    used = _data_in_use()
    if used is None:  # no /proc: a limit that could not say what it counts is none
        yield None
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = used + resources.memory
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    try:
        yield resources.memory
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def describe_limit(outcome: TaskOutcome, limit: int | None) -> TaskOutcome:
    """``outcome`` with a memory error said to be the task's limit (what was exceeded and
    how to raise it), when a limit was set."""
    error = outcome.error
    if limit is None or error is None or not _MEMORY_ERRORS.intersection(error.mro):
        return outcome
    text = f": {error.message}" if error.message else ""
    message = (
        f"the task went over its memory limit of {_size(limit)} (Resources(memory=..., "
        f"limit=True)), so an allocation failed with MemoryError{text}; raise memory= or "
        "make the task use less"
    )
    return replace(outcome, error=replace(error, message=message))


def _size(amount: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if amount >= scale:
            return f"{amount / scale:.3g} {unit}"
    return f"{amount} bytes"
