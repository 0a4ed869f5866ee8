"""A task that starts processes which leave the worker's process group, as launchers and
daemons do: ``sleep 1000`` in a session of its own (``start_new_session=True``), and
``sleep 1000`` double-forked with ``setsid`` between the forks, so that its parent has
exited and it is an orphan in a session of its own. It notes ``worker <pid> <start>`` and
``escaped <pid> <start>`` for each such process (``start``: its start time, so that a test
does not take a new process that got a reused pid for a survivor), then ``escaped-all``.

A listener, in a session of its own too, notes ``terminated <pid>`` when SIGTERM reaches it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger_notes import ledger_path, note, notes

from legato import task

__all__ = ["ESCAPES", "escape", "noted_processes", "started_at", "survivors"]

ESCAPES = {"new_session": 1, "double_fork": 1, "both": 2, "listening": 1}
"""How :func:`escape` may start its processes, and how many it starts."""

_DOUBLE_FORK = """
import os
if os.fork() == 0:
    os.setsid()
    sleeper = os.fork()
    if sleeper == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execvp("sleep", ["sleep", "1000"])
    print(sleeper, flush=True)
    os._exit(0)
os.wait()
"""

_LISTENER = """
import os, signal, sys, time
def stop(*_):
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
    os.write(fd, f"terminated {os.getpid()}\\n".encode())
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(1000)
"""


def started_at(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None when it is not running
    (gone, or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return None if fields[0] in (b"Z", b"X") else int(fields[19])


def _new_session() -> int:
    sleeper = subprocess.Popen(
        ["sleep", "1000"],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return sleeper.pid


def _listening(ledger: str) -> int:
    listener = subprocess.Popen(
        [sys.executable, "-c", _LISTENER, ledger],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None
    assert listener.stdout.readline() == "ready\n"
    return listener.pid


def _double_fork() -> int:
    launcher = subprocess.run(
        [sys.executable, "-c", _DOUBLE_FORK], capture_output=True, text=True, check=True
    )
    return int(launcher.stdout)


@task
def escape(how: str, then: str = "block") -> int:
    """Start processes that leave the worker's group in the way named ``how`` (a key of
    :data:`ESCAPES`), note them, then block (``then="block"``), block ignoring SIGTERM
    (``"ignore_sigterm"``) or return (``"return"``)."""
    path = ledger_path()
    note("worker", os.getpid(), started_at(os.getpid()), path=path)
    escaped = []
    if how in ("new_session", "both"):
        escaped.append(_new_session())
    if how in ("double_fork", "both"):
        escaped.append(_double_fork())
    if how == "listening":
        escaped.append(_listening(path))
    for pid in escaped:
        note("escaped", pid, started_at(pid), path=path)
    note("escaped-all", path=path)
    if then == "ignore_sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if then != "return":
        time.sleep(1000)
    return len(escaped)


def noted_processes(ledger: Path) -> list[tuple[int, int]]:
    """Every worker and escaped process the ledger names, with its start time."""
    return [
        (int(pid), int(start))
        for _, pid, start in notes(ledger, "worker") + notes(ledger, "escaped")
        if start != "None"
    ]


def survivors(ledger: Path, timeout: float = 5.0) -> list[int]:
    """The noted processes still running after ``timeout`` seconds (empty once all are
    gone: signals are delivered asynchronously, and an orphan's reaper may need a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid, start in noted_processes(ledger) if started_at(pid) == start]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
