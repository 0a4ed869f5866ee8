"""Tasks that kill the worker process running them."""

from __future__ import annotations

import ctypes
import os
import resource
import signal

from ledger_notes import note

import legato
from legato import task

__all__ = ["CRASHES", "crash"]


def _exit() -> None:
    os._exit(3)


def _segfault() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file in the test's directory
    ctypes.string_at(0)


def _sigkill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


CRASHES = {"exit": _exit, "segfault": _segfault, "sigkill": _sigkill}


@task
def crash(kind: str, only_first_attempt: bool = False) -> str:
    """Kill this worker in the way named ``kind`` (a key of :data:`CRASHES`)."""
    ctx = legato.context()
    assert ctx is not None
    note("crash", kind, ctx.attempt, os.getpid())
    if only_first_attempt and ctx.attempt > 1:
        return f"survived attempt {ctx.attempt}"
    CRASHES[kind]()
    return "still alive"
