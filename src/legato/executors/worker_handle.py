"""A worker process as the processes executor holds it: starting one (on Linux under a
reaper, ``executors.reaper``), asking it to stop, killing it with all it started, waiting
for it to end, and why it ended, in words."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection

from legato.executors.forked import ForkedProcess, Template, TemplateError
from legato.executors.native_threads import native_thread_env
from legato.executors.reaper import KILL_TREE, REAPS, worker_command
from legato.model import wire
from legato.model.calls import TaskCall, TaskOutcome
from legato.model.values import Stored
from legato.runtime.data import HANDED_ON_ENTRIES, handed_on_checksums, worth_handing_on

__all__ = ["WorkerHandle", "describe_exit", "start_worker"]

_KILL_WAIT_S = 5.0  # for a worker told to die; then whatever is left of its group is killed


def describe_exit(returncode: int | None) -> str:
    """Why a worker process ended, in words."""
    if returncode is None:
        return "the worker process stopped answering"
    if returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGKILL:
            return (
                "the worker process was killed by SIGKILL (the kernel's out-of-memory killer "
                "does this when memory runs out)"
            )
        if sig == signal.SIGSEGV:
            return "the worker process crashed with a segmentation fault (SIGSEGV)"
        return f"the worker process was killed by {name}"
    if returncode == wire.WIRE_VERSION_EXIT:
        return (
            "the worker process could not read the call: it runs another install of legato "
            "than this orchestrator (its error is on standard error)"
        )
    return f"the worker process exited with code {returncode} while running the task"


class WorkerHandle:
    """One worker process, its two pipes and what the executor knows of it. ``proc`` is
    the worker's reaper where it has one: a reaper ends as its worker did."""

    __slots__ = (
        "call",
        "calls",
        "closing",
        "functions",
        "gpus",
        "handed_on",
        "kill_at",
        "outcomes",
        "proc",
        "ready",
        "stopping",
    )

    def __init__(
        self,
        proc: subprocess.Popen[bytes] | ForkedProcess,
        calls: Connection,
        outcomes: Connection,
    ):
        self.proc = proc
        self.calls = calls
        self.outcomes = outcomes
        self.call: TaskCall | None = None
        self.functions: set[str] = set()
        self.gpus: tuple[int, ...] | None = None  # the GPUs it first ran a call on
        self.handed_on: dict[str, None] = {}
        """Checksums of the outputs it stored last, oldest first, which it may still hold as
        objects (``runtime.data.HandedOnData``): a hint for placing their readers."""
        self.ready = False
        self.stopping = False  # its call was cancelled: it is being killed
        self.kill_at: float | None = None  # when SIGTERM turns into SIGKILL
        self.closing = False

    def hand_over(self, call: TaskCall) -> None:
        """``call`` is sent here: the outputs it reads that this worker kept are handed to it
        (once: another reader loads its own copy)."""
        for checksum in handed_on_checksums(call):
            self.handed_on.pop(checksum, None)

    def stored(self, outcome: TaskOutcome) -> None:
        """Note which of its outputs this worker may keep as objects, as its data plane
        chooses them (:class:`~legato.runtime.data.HandedOnData`; a hint: a miss loads)."""
        output = outcome.output
        if not isinstance(output, Stored) or not worth_handing_on(output.ref):
            return
        kept, checksum = self.handed_on, output.ref.checksum
        kept.pop(checksum, None)
        kept[checksum] = None
        while len(kept) > HANDED_ON_ENTRIES:
            del kept[next(iter(kept))]

    def terminate(self) -> None:
        """Ask the call's processes to stop: the reaper passes SIGTERM on to every process
        under it, wherever its task put them; without a reaper, the worker's group gets it."""
        if REAPS:
            self.proc.send_signal(signal.SIGTERM)
        else:
            self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the worker and all it started. The reaper does it, then exits: SIGKILL to
        the group would kill the reaper with it, before the processes only it can reach."""
        if REAPS:
            self.proc.send_signal(KILL_TREE)
        else:
            self._signal_group(signal.SIGKILL)

    def finish(self, timeout: float = _KILL_WAIT_S) -> int:
        """Wait for the worker process to end, killing it after ``timeout`` seconds; its
        exit status. A reaper ends only once nothing under it runs; SIGKILL to the group is
        what the platforms without one have, and the last resort against a reaper that
        cannot finish."""
        try:
            returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            try:
                returncode = self.proc.wait(timeout=_KILL_WAIT_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                returncode = self.proc.wait()
        self._signal_group(signal.SIGKILL)  # whatever is left in its group
        return returncode

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def start_worker(
    init: bytes, template: Template | None = None, native_threads: int | None = None
) -> WorkerHandle:
    """Start a worker process in a session of its own and send it ``init`` (its artifact
    store and whether to capture output): forked from ``template`` when one is given and
    it can, else a fresh interpreter; its native libraries use ``native_threads`` threads
    (:mod:`~legato.executors.native_threads`; ``None``: as the environment says)."""
    calls_r, calls_w = os.pipe()
    out_r, out_w = os.pipe()
    env = dict(os.environ)
    env.update(native_thread_env(native_threads))
    env.pop("LEGATO_CRASH_AT", None)  # crash points are for the orchestrator under test
    env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        env["LEGATO_VISIBLE_GPUS"] = visible
    try:
        proc: subprocess.Popen[bytes] | ForkedProcess | None = None
        if template is not None:
            with contextlib.suppress(TemplateError):  # then a fresh interpreter does
                proc = template.fork((calls_r, out_w), env)
        if proc is None:
            proc = subprocess.Popen(
                worker_command(calls_r, out_w),
                pass_fds=(calls_r, out_w),
                start_new_session=True,
                env=env,
            )
    finally:
        os.close(calls_r)
        os.close(out_w)
    worker = WorkerHandle(
        proc,
        Connection(calls_w, readable=False),
        Connection(out_r, writable=False),
    )
    with contextlib.suppress(OSError):  # a worker that died at once is seen by the monitor
        worker.calls.send_bytes(init)
    return worker
