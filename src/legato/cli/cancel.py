"""``legato cancel RUN``: ask the process orchestrating a run to cancel it.

A run is orchestrated by one process, named by the run's owner token (``host:pid:random``).
That process turns SIGTERM into a clean cancel (running tasks stopped, the run recorded as
cancelled and resumable), so cancelling from another terminal is sending it SIGTERM, once it
is certain the pid still is that orchestrator (:func:`legato.liveness.orchestrator_alive`):
on this host, alive, and started before its last heartbeat (a pid reused by a later process
is not); where the system does not tell when a process started, only while the run
heartbeats.
"""

from __future__ import annotations

import os
import signal
import socket
import time

from legato.cli.exits import FAILED, OK, CommandError
from legato.cli.formats import console, duration
from legato.cli.settings import load, open_storage
from legato.liveness import alive as process_alive
from legato.liveness import orchestrator_alive, orchestrator_pid, started_at
from legato.model.runs import RunInfo
from legato.model.states import RunState

__all__ = ["cancel_command"]

_POLL = 0.2


def cancel_command(run_ref: str, *, wait: float, profile: str | None) -> int:
    """Cancel run ``run_ref``; waits up to ``wait`` seconds for it to end."""
    settings = load(profile)
    store = open_storage(settings).runs
    info = store.get_run(run_ref)
    out = console()
    if info.state is RunState.CANCELLED:
        out.print(f"run {info.run_id} is already cancelled", markup=False)
        return OK
    if info.state.is_terminal:
        raise CommandError(f"run {info.run_id} already ended: {info.state.value}", FAILED)
    pid = _orchestrator_pid(info, settings.stale_after)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        raise CommandError(_gone(info, pid), FAILED) from None
    except PermissionError:
        raise CommandError(
            f"run {info.run_id} is orchestrated by process {pid}, which this user may not "
            "signal; cancel it as the user who started it",
            FAILED,
        ) from None
    out.print(f"asked run {info.run_id} to cancel (SIGTERM to process {pid})", markup=False)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        alive = process_alive(pid)  # before reading the state: it may record the cancel and exit
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
                f"process {pid} ended without recording run {info.run_id} as cancelled (it "
                "does not turn SIGTERM into a cancel: a script that set its own handler, or "
                f"ran the run off its main thread). The run crashed; resume it with: "
                f"legato resume {info.run_id}",
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


def _orchestrator_pid(info: RunInfo, stale_after: float) -> int:
    """The pid to signal, or a :class:`CommandError` saying why there is none."""
    pid = orchestrator_pid(info.owner)
    if pid is None:
        host, _, rest = info.owner.partition(":")
        number = rest.partition(":")[0]
        if not number.isdigit():
            raise CommandError(
                f"run {info.run_id} has no orchestrator process on record (owner "
                f"{info.owner!r}); it cannot be cancelled from here",
                FAILED,
            )
        raise CommandError(
            f"run {info.run_id} is orchestrated by process {number} on host {host!r}, not on "
            f"this host ({socket.gethostname()}): run `legato cancel {info.run_id}` there, "
            "or stop that process",
            FAILED,
        )
    if pid == os.getpid():
        raise CommandError(f"run {info.run_id} is orchestrated by this very process", FAILED)
    known = orchestrator_alive(info.owner, info.heartbeat_at)
    if known is False:
        raise CommandError(_gone(info, pid), FAILED)
    if known is None:
        # Not known to be the orchestrator: never signal a process that started after the
        # run's last heartbeat (its pid was reused); where the system does not tell when a
        # process started, only while the run heartbeats.
        silent = time.time() - info.heartbeat_at
        if started_at(pid) is not None:
            raise CommandError(
                f"run {info.run_id} is not running: process {pid} started after its last "
                f"heartbeat, so it is not its orchestrator, which is gone. It crashed; "
                f"resume it with: legato resume {info.run_id}",
                FAILED,
            )
        if silent > stale_after:
            raise CommandError(
                f"run {info.run_id} has had no heartbeat for {duration(silent)}: its "
                f"orchestrator (process {pid}) is gone and that pid is not it any more. The "
                f"run crashed; resume it with: legato resume {info.run_id}",
                FAILED,
            )
    return pid


def _gone(info: RunInfo, pid: int) -> str:
    return (
        f"run {info.run_id} is not running: its orchestrator (process {pid}) is gone. It "
        f"crashed; resume it with: legato resume {info.run_id}"
    )
