"""Named crash points for crash-recovery tests.

``LEGATO_CRASH_AT=<point>`` (optionally ``<point>@<n>``: the n-th time it is reached, default
the first) makes the process kill itself with ``LEGATO_CRASH_SIGNAL`` (``KILL`` by default,
or ``TERM``) when it reaches that point. Points: ``run_created``, ``claim_committed`` (a
batch holding claims is committed, their calls not yet handed over), ``task_claimed`` (calls
whose claims are committed are about to be handed over), ``task_started``,
``output_written``, ``state_committed``, ``run_finalised``; while a failed run rolls back
(``ROLLBACK_POINTS``): ``rollback_started`` (a compensation's start is committed, its
handler not yet handed over) and ``rollback_committed`` (its outcome is
committed); while an output too large to stay inline is written (``ARTIFACT_POINTS``):
``artifact_partial`` (a write of 1 MiB or more has reached its temporary file, which is
neither complete nor renamed into place yet); in ``legato scheduler`` (``SCHEDULER_POINTS``):
``schedule_claimed`` (a due schedule is locked in the claim's transaction), ``tick_written``
(its ticks, the queued runs, are written, not committed), ``tick_committed``,
``tick_launching`` (a tick is committed as launched, its process not started) and
``tick_launched`` (its process started). Unset, a crash point costs one dict lookup.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["ARTIFACT_POINTS", "POINTS", "ROLLBACK_POINTS", "SCHEDULER_POINTS", "crash_point"]

POINTS = (
    "run_created",
    "claim_committed",
    "task_claimed",
    "task_started",
    "output_written",
    "state_committed",
    "run_finalised",
)
ROLLBACK_POINTS = ("rollback_started", "rollback_committed")
"""Reached only by runs that roll back, so kept apart from the points every run reaches."""
ARTIFACT_POINTS = ("artifact_partial",)
"""Reached only by writes of outputs too large to stay inline (64 KiB by default)."""
SCHEDULER_POINTS = (
    "schedule_claimed",
    "tick_written",
    "tick_committed",
    "tick_launching",
    "tick_launched",
)
"""Reached only by ``legato scheduler``."""

_spec = os.environ.get("LEGATO_CRASH_AT", "")
_point, _, _nth = _spec.partition("@")
_target = int(_nth) if _nth else 1
_count = 0
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Die here if ``LEGATO_CRASH_AT`` names this point (and this is the chosen hit)."""
    global _count
    if name != _point:
        return
    with _lock:
        _count += 1
        if _count != _target:
            return
    sig = getattr(signal, "SIG" + os.environ.get("LEGATO_CRASH_SIGNAL", "KILL").upper())
    os.kill(os.getpid(), sig)
    if sig != signal.SIGKILL:
        # A handled SIGTERM lets the process continue: that is the graceful path under test.
        return
