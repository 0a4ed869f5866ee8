"""Whether a process of this host lives, and when it started: one answer for every part of
legato that must tell a live writer, orchestrator or worker from a dead one.

A zombie (ended, not yet reaped by its parent) is dead: it runs nothing and writes nothing.
A process of another user (``kill`` refused) is alive. The start time (from
``/proc/<pid>/stat``, where the system has it) tells a process from a later one that was
given the same pid.

A run's orchestrator is named by its owner token, ``host:pid:random``
(:func:`owner_token`). :func:`orchestrator_alive` is the one judgement of whether it still
lives that resume (may it take the run over?), ``legato runs`` (``running`` or
``crashed``?) and ``legato cancel`` (whom to signal?) share; where it cannot tell (another
host), each falls back to the run's heartbeat.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = [
    "alive",
    "orchestrator_alive",
    "orchestrator_pid",
    "owner_token",
    "started_at",
    "started_ticks",
]

_START_SLACK = 1.0
"""Seconds by which a process may seem to have started after a heartbeat it wrote: its start
time is read in clock ticks from boot, the heartbeat on another clock."""


def alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists and has not ended (a zombie has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def started_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None where ``/proc`` does
    not tell (or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # Field 22 of /proc/<pid>/stat (the 20th after the command name).
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def started_at(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), where ``/proc`` tells; else None."""
    ticks = started_ticks(pid)
    if ticks is None:
        return None
    try:
        with open("/proc/stat") as system:
            boot = next(float(line.split()[1]) for line in system if line.startswith("btime"))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def owner_token() -> str:
    """A token naming this process as a run's orchestrator: host, pid and a random part (two
    orchestrators of one process, one after the other, differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def orchestrator_pid(owner: str) -> int | None:
    """The pid in owner token ``owner`` when it names a process of this host; None for
    another host or a token without a pid."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def orchestrator_alive(owner: str, heartbeat_at: float) -> bool | None:
    """Whether the orchestrator named by ``owner`` (whose run last heard from it at
    ``heartbeat_at``, Unix time) still lives: True when its pid runs on this host and
    started before that heartbeat; False when no process (or a zombie) has that pid;
    None when this cannot be told here, and the heartbeat must decide: another host, this
    very process, or a pid that a process started after the heartbeat now holds (reused,
    most likely, unless the heartbeat's clock is behind this host's), or whose start time
    the system does not tell."""
    pid = orchestrator_pid(owner)
    if pid is None or pid == os.getpid():
        return None
    if not alive(pid):
        return False
    started = started_at(pid)
    if started is None or started > heartbeat_at + _START_SLACK:
        return None
    return True
