"""``legato cancel RUN``: ask the process orchestrating a run to cancel it.

A run is orchestrated by one process, named by the run's owner token (``host:pid:random``).
That process turns SIGTERM into a clean cancel (running tasks stopped, the run recorded as
cancelled and resumable), so cancelling from another terminal is sending it SIGTERM, once it
is certain the pid still is that orchestrator: on this host, alive, heartbeating, and
started before its last heartbeat (a pid reused by a later process is not).
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
from legato.model.runs import RunInfo
from legato.model.states import RunState

__all__ = ["cancel_command", "process_started_at"]

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
    host, _, rest = info.owner.partition(":")
    pid_text = rest.partition(":")[0]
    if not pid_text.isdigit():
        raise CommandError(
            f"run {info.run_id} has no orchestrator process on record (owner "
            f"{info.owner!r}); it cannot be cancelled from here",
            FAILED,
        )
    pid = int(pid_text)
    if host != socket.gethostname():
        raise CommandError(
            f"run {info.run_id} is orchestrated by process {pid} on host {host!r}, not on "
            f"this host ({socket.gethostname()}): run `legato cancel {info.run_id}` there, "
            "or stop that process",
            FAILED,
        )
    if pid == os.getpid():
        raise CommandError(f"run {info.run_id} is orchestrated by this very process", FAILED)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise CommandError(_gone(info, pid), FAILED) from None
    except PermissionError:
        pass  # alive, another user's: sending SIGTERM says so
    silent = time.time() - info.heartbeat_at
    started = process_started_at(pid)
    if silent > stale_after or (started is not None and started > info.heartbeat_at + 1.0):
        raise CommandError(
            f"run {info.run_id} has had no heartbeat for {duration(silent)}: its "
            f"orchestrator (process {pid}) is gone and that pid is not it any more. The run "
            f"crashed; resume it with: legato resume {info.run_id}",
            FAILED,
        )
    return pid


def _gone(info: RunInfo, pid: int) -> str:
    return (
        f"run {info.run_id} is not running: its orchestrator (process {pid}) is gone. It "
        f"crashed; resume it with: legato resume {info.run_id}"
    )


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), where ``/proc`` tells; else None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as system:
            boot = next(float(line.split()[1]) for line in system if line.startswith("btime"))
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    # Field 22 of /proc/<pid>/stat (the 20th after the command name): start time in ticks.
    return boot + int(fields[19]) / ticks
