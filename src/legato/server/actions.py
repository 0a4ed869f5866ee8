"""What the server changes, and only through the engine's own ways: a cancel is a request
recorded in the run store (``RunStore.request_cancel``), which the run's orchestrator reads
within a second wherever it runs, as ``legato cancel`` does; a resume or a new run is a
``legato`` command in a child process (:mod:`legato.server.launch`). Each is refused (409)
with what to do instead when the run's state does not allow it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException

from legato.model.runs import RunInfo
from legato.model.states import RUN_RESUMABLE, RunState
from legato.query.runs import CRASHED, shown_state
from legato.query.views import RunSummary, run_summary
from legato.server.launch import Launched, Launcher
from legato.store.base import RunStore

__all__ = ["Accepted", "OpenOnce", "cancel_run", "resume_run"]


class OpenOnce:
    """The store actions write to, opened by ``opener`` at the first action and kept (a
    server nobody asks to act opens nothing to write)."""

    def __init__(self, opener: Callable[[], RunStore]) -> None:
        self._opener = opener
        self._store: RunStore | None = None
        self._lock = threading.Lock()

    def __call__(self) -> RunStore:
        with self._lock:
            if self._store is None:
                self._store = self._opener()
            return self._store


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """A command the server started for a request: its process and log file."""

    action: str
    run_id: str | None
    """The run it acts on (None for a new run: it shows in the runs list once created)."""
    pid: int
    log: str


def _lease(info: RunInfo, stale_after: float) -> float:
    return max(stale_after, float(info.environment.get("lease", 0.0)))


def cancel_run(
    reader: RunStore, writer: RunStore, run_id: str, *, reason: str, stale_after: float
) -> RunSummary:
    """Ask run ``run_id``'s orchestrator to cancel it; the run as it now stands. A run
    already cancelled is answered as it is; one ended otherwise, or whose orchestrator is
    gone (crashed), is refused."""
    info = reader.get_run(run_id)
    now = time.time()
    if info.state is RunState.CANCELLED:
        return run_summary(info, info.state.value)
    if info.state.is_terminal:
        raise HTTPException(409, f"run {info.run_id} already ended: {info.state.value}")
    if now - info.heartbeat_at > _lease(info, stale_after):
        raise HTTPException(
            409,
            f"run {info.run_id} crashed: its orchestrator has written no heartbeat for "
            f"{now - info.heartbeat_at:.0f} s, so nothing would act on a cancel. Resume it "
            "(POST .../resume) or leave it",
        )
    asked = writer.request_cancel(info.run_id, reason)
    return run_summary(asked, shown_state(asked, stale_after, time.time()))


def resume_run(
    reader: RunStore, launcher: Launcher, run_id: str, *, stale_after: float
) -> Accepted:
    """Start ``legato resume`` for run ``run_id`` in a child process, if it can be
    resumed: it ended failed or cancelled, or it crashed, and its pipeline can be loaded
    again."""
    info = reader.get_run(run_id)
    shown = shown_state(info, stale_after, time.time())
    if info.state not in RUN_RESUMABLE or (not info.state.is_terminal and shown != CRASHED):
        raise HTTPException(
            409,
            f"run {info.run_id} is {shown}: only a failed, cancelled or crashed run can be resumed",
        )
    if not info.target:
        raise HTTPException(
            409,
            f"run {info.run_id} cannot be resumed here: its pipeline was defined where it "
            "cannot be loaded again (__main__ or a notebook); resume it from Python",
        )
    launched: Launched = launcher.resume(info.run_id)
    return Accepted(action="resume", run_id=info.run_id, pid=launched.pid, log=launched.log)
