"""The reaper: on Linux, the parent of each worker process of the processes executor.

``python -m legato.executors.reaper R W`` makes itself a child subreaper, starts
``python -m legato.executors.worker R W`` as its only child and runs no task code itself. A
process a task starts stays in the reaper's tree however it leaves the worker's process
group (``start_new_session=True``, a double fork and ``setsid``): an orphan is re-parented to
the nearest living subreaper above it, the reaper, instead of init. So the reaper finds every
one of them by walking parent links in ``/proc``, and:

- on SIGTERM (the executor stopping a call) passes it on to every process under it;
- on ``KILL_TREE`` (the grace period is over) kills every process under it;
- once the worker ends, however it ends (asked to exit, stopped, crashed, SIGKILLed by the
  out-of-memory killer), kills whatever it left;
- once the orchestrator is gone, kills everything.

It exits only when it has no child left, which for a subreaper means that nothing under it
runs any more, and it ends as its worker did (the same exit code, or killed by the same
signal): the executor learns the worker's fate from the reaper's and, when the reaper has
ended, nothing the call started is left.

Why a process of its own: a process cannot clean up after being SIGKILLed, and the worker is
the one a timeout SIGKILLs and the out-of-memory killer picks; and a worker that reaped
orphans would steal the exit status of processes its tasks wait for. The reaper imports
nothing but the standard library, so it costs an interpreter's start and a few MiB.

Elsewhere than Linux (no subreapers, no ``/proc``) the executor starts the worker alone, and
stops what a task started by signalling the worker's process group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import NoReturn

__all__ = ["KILL_TREE", "REAPS", "descendants", "kill_descendants", "main", "worker_command"]

REAPS = sys.platform.startswith("linux")
"""Whether workers run under a reaper on this platform."""

KILL_TREE = signal.SIGUSR1
"""Sent to a reaper: kill every process under it now, then exit."""

_REAPER = "legato.executors.reaper"
_WORKER = "legato.executors.worker"
_HANDLED = {signal.SIGTERM, KILL_TREE, signal.SIGCHLD}
_POLL_S = 0.2  # how soon a dead orchestrator is noticed
_GIVE_UP_S = 30.0  # a process stuck in the kernel (state D) may never die

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def worker_command(read_fd: int, write_fd: int) -> list[str]:
    """The command that starts a worker talking over ``read_fd`` and ``write_fd``: under a
    reaper where workers have one, else the worker alone."""
    module = _REAPER if REAPS else _WORKER
    return [sys.executable, "-m", module, str(read_fd), str(write_fd)]


def descendants(root: int) -> list[int]:
    """The living processes under ``root``, from the parent links in ``/proc``; none where
    there is no ``/proc``."""
    children: dict[int, list[int]] = {}
    for pid, parent in _living_parents():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    todo = [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def kill_descendants(root: int) -> None:
    """SIGKILL the processes under ``root`` in one pass: all that a process which is not a
    subreaper can do, since the children of one killed first go to init, out of its sight."""
    _signal_all(descendants(root), signal.SIGKILL)


def _living_parents() -> Iterable[tuple[int, int]]:
    # A zombie is skipped: it runs no more and its children have been re-parented already.
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                line = stat.read()
        except OSError:
            continue  # it ended while we looked
        # The command name, in parentheses, may hold spaces and parentheses: split after it.
        fields = line[line.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[0] not in (b"Z", b"X"):
            yield int(name), int(fields[1])


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


class _Children:
    """The reaper's children: the worker, then the orphans re-parented to it."""

    __slots__ = ("status", "worker")

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.status: int | None = None  # the worker's wait status, once it ended

    def reap(self) -> bool:
        """Reap every child that ended, noting the worker's status; whether any is left."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.worker:
                self.status = status


def _kill_all(children: _Children) -> None:
    """SIGKILL every process under the reaper until it has no child left. One pass is not
    enough: a killed process's children come to the reaper only once it has died, and a
    process may fork while the walk reads ``/proc``. Having no child is the kernel's word
    that nothing is left under a subreaper, so it ends the loop, not an empty walk."""
    me = os.getpid()
    give_up = time.monotonic() + _GIVE_UP_S
    while children.reap() and time.monotonic() < give_up:
        _signal_all(descendants(me), signal.SIGKILL)
        signal.sigtimedwait({signal.SIGCHLD}, 0.05)


def _start_worker(argv: list[str]) -> NoReturn:
    try:
        os.execv(sys.executable, [sys.executable, "-m", _WORKER, *argv[1:]])
    except OSError as exc:
        os.write(2, f"legato reaper: cannot start the worker: {exc}\n".encode())
    os._exit(127)


def _end_like(status: int | None) -> NoReturn:
    """Exit as the worker did, so the executor can say why it ended."""
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        _prctl(_PR_SET_DUMPABLE, 0)  # a crashed worker dumped its own core; not a second one
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal whose default is not to end a process
    os._exit(1 if status is None else os.waitstatus_to_exitcode(status))


def main(argv: list[str], start: Callable[[list[str]], NoReturn] | None = None) -> NoReturn:
    """Start the worker under this process and watch over it and all it starts until it
    ends; exit as it did. ``start`` runs the worker in the forked child (by default it
    executes ``python -m legato.executors.worker``; a reaper forked from the executor's
    template runs the worker already imported there)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    orchestrator = os.getppid()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # Blocked, and taken one at a time by sigtimedwait: no handler runs in the middle of a
    # walk, and none is lost before the loop waits for it.
    signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
    worker = os.fork()
    if worker == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, ())  # a blocked mask survives exec
        (start or _start_worker)(argv)
    for fd in argv[1:3]:
        os.close(int(fd))  # only the worker talks to the orchestrator
    children = _Children(worker)
    while children.reap() and children.status is None:
        if os.getppid() != orchestrator:
            break  # re-parented: the orchestrator died, and nobody else will stop the call
        info = signal.sigtimedwait(_HANDLED, _POLL_S)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo == KILL_TREE:
            break
        _signal_all(descendants(os.getpid()), signal.SIGTERM)
    _kill_all(children)
    _end_like(children.status)


if __name__ == "__main__":
    main(sys.argv)
