"""``legato cancel RUN``: ask the orchestrator of a run, wherever it runs, to cancel it.

The request is recorded with the run in the store (:meth:`RunStore.request_cancel`); the
orchestrator reads it within a second, as it reads its lease, and cancels as a Ctrl-C would
(running tasks stopped, the run recorded as cancelled and resumable). So a run is cancelled
the same way from another terminal, another machine or the API. A run whose orchestrator is
gone cannot act on a request: it crashed, and the command says so. Whether it is gone is
judged as resume and ``legato runs`` judge it (:func:`legato.liveness.orchestrator_alive`): a
process of this host known dead, or holding a pid a later process reused; elsewhere, no
heartbeat for longer than its lease. An orchestrator alive on this host is asked whatever its
heartbeat says.
"""

from __future__ import annotations

import getpass
import os
import socket
import time

from legato.cli.exits import FAILED, OK, CommandError
from legato.cli.formats import console, duration
from legato.cli.settings import load
from legato.cli.stores import open_existing
from legato.liveness import alive as process_alive
from legato.liveness import orchestrator_alive, orchestrator_pid, started_at
from legato.model.runs import RunInfo
from legato.model.states import RunState

__all__ = ["cancel_command"]

_POLL = 0.2


def cancel_command(run_ref: str, *, wait: float, profile: str | None) -> int:
    """Cancel run ``run_ref``; waits up to ``wait`` seconds for it to end."""
    settings = load(profile)
    store = open_existing(settings, f"run {run_ref!r}", read_only=False).runs
    info = store.get_run(run_ref)
    out = console()
    if info.state is RunState.CANCELLED:
        out.print(f"run {info.run_id} is already cancelled", markup=False)
        return OK
    if info.state.is_terminal:
        raise CommandError(f"run {info.run_id} already ended: {info.state.value}", FAILED)
    lease = max(settings.stale_after, float(info.environment.get("lease", 0.0)))
    pid = _check_orchestrator(info, lease)
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    store.request_cancel(info.run_id, f"cancelled by {who} (legato cancel)")
    out.print(f"asked run {info.run_id} to cancel", markup=False)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        # Before reading the state: the orchestrator may record the cancel and exit.
        alive = pid is None or process_alive(pid)
        current = store.get_run(info.run_id)
        if current.state.is_terminal:
            if current.state is RunState.CANCELLED:
                out.print(
                    f"run {info.run_id} cancelled; resume it with: legato resume {info.run_id}",
                    markup=False,
                )
                return OK
            raise CommandError(
                f"run {info.run_id} ended {current.state.value} before it could be cancelled",
                FAILED,
            )
        if not alive:
            raise CommandError(
                f"process {pid} ended without recording run {info.run_id} as cancelled. The "
                f"run crashed; resume it with: legato resume {info.run_id}",
                FAILED,
            )
        time.sleep(_POLL)
    if wait > 0:
        out.print(
            f"run {info.run_id} is still stopping after {duration(wait)}; "
            f"legato runs show {info.run_id} tells when it has",
            markup=False,
        )
    return OK


def _check_orchestrator(info: RunInfo, lease: float) -> int | None:
    """The pid of the run's orchestrator when it is a live process of this host (to notice
    if it dies), None when that cannot be told (it runs elsewhere); a :class:`CommandError`
    when it is gone."""
    pid = orchestrator_pid(info.owner)
    known = orchestrator_alive(info.owner, info.heartbeat_at)
    if known:
        return pid
    # Gone: dead, or a process started after the run's last heartbeat holds its pid.
    if pid is not None and pid != os.getpid() and (known is False or started_at(pid)):
        raise CommandError(_gone(info, pid), FAILED)
    silent = time.time() - info.heartbeat_at
    if silent > lease:
        raise CommandError(
            f"run {info.run_id} has had no heartbeat for {duration(silent)}: its "
            f"orchestrator is gone. The run crashed; resume it with: legato resume "
            f"{info.run_id}",
            FAILED,
        )
    return None


def _gone(info: RunInfo, pid: int) -> str:
    return (
        f"run {info.run_id} is not running: its orchestrator (process {pid}) is gone. It "
        f"crashed; resume it with: legato resume {info.run_id}"
    )
