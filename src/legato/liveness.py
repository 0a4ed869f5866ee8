"""Whether a process of this host lives, and when it started: one answer for every part of
legato that must tell a live writer, orchestrator or worker from a dead one.

A zombie (ended, not yet reaped by its parent) is dead: it runs nothing and writes nothing.
A process of another user (``kill`` refused) is alive. The start time (from
``/proc/<pid>/stat``, where the system has it) tells a process from a later one that was
given the same pid.
"""

from __future__ import annotations

import os

__all__ = ["alive", "started_ticks"]


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
