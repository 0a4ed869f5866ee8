"""Tasks that never return on their own, each in its own way. Each notes ``pid <kind> <pid>``
(and ``child <kind> <pid>`` for a process it starts) before hanging, then ``hang-ended <kind>``
should it ever get past the hang. A task that hangs only on its first attempt succeeds on the
next."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time

from ledger_notes import ledger_path, note

import legato
from legato import task

__all__ = ["HANGS", "hang"]


def _sleep() -> None:
    time.sleep(100)


def _busy() -> None:
    n = 0
    while True:
        n += 1


def _busy_swallowing() -> None:
    # Whatever is raised into it (an async exception, a KeyboardInterrupt) is swallowed.
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


def _c_sleep() -> None:
    ctypes.CDLL(None).sleep(100)  # blocked in libc: no Python bytecode runs


def _deadlock() -> None:
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


def _ignore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        with contextlib.suppress(BaseException):
            time.sleep(100)


def _with_child() -> None:
    child = subprocess.Popen(["sleep", "100"])
    note("child", "with_child", child.pid)
    time.sleep(100)


HANGS = {
    "sleep": _sleep,
    "busy": _busy,
    "busy_swallowing": _busy_swallowing,
    "c_sleep": _c_sleep,
    "deadlock": _deadlock,
    "ignore_sigterm": _ignore_sigterm,
    "with_child": _with_child,
}


@task
def hang(kind: str, only_first_attempt: bool = False) -> str:
    """Hang in the way named ``kind`` (a key of :data:`HANGS`)."""
    ctx = legato.context()
    assert ctx is not None
    path = ledger_path()
    if only_first_attempt and ctx.attempt > 1:
        note("recovered", kind, ctx.attempt, path=path)
        return f"attempt {ctx.attempt} did not hang"
    note("pid", kind, os.getpid(), path=path)
    HANGS[kind]()
    note("hang-ended", kind, path=path)
    return "hang ended"
