"""``legato cancel RUN``: ask the orchestrator of a run, wherever it runs, to cancel it.

The request is recorded with the run in the store (:meth:`RunStore.request_cancel`); the
orchestrator reads it within a second, as it reads its lease, and cancels as a Ctrl-C would
(running tasks stopped, the run recorded as cancelled and resumable). So a run is cancelled
the same way from another terminal, another machine or the API. A run whose orchestrator is
gone cannot act on a request: it crashed, and the command says so (a process of this host
known dead, or no heartbeat for longer than its lease).
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
from legato.model.runs import RunInfo
from legato.model.states import RunState

__all__ = ["cancel_command", "process_started_at"]

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
    """The pid of the run's orchestrator when it is a process of this host (to notice if it
    dies), None when it runs elsewhere; a :class:`CommandError` when it is known gone."""
    silent = time.time() - info.heartbeat_at
    if silent > lease:
        raise CommandError(
            f"run {info.run_id} has had no heartbeat for {duration(silent)}: its "
            f"orchestrator is gone. The run crashed; resume it with: legato resume "
            f"{info.run_id}",
            FAILED,
        )
    host, _, rest = info.owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return None
    started = process_started_at(pid)
    if not process_alive(pid) or (started is not None and started > info.heartbeat_at + 1.0):
        raise CommandError(_gone(info, pid), FAILED)
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
