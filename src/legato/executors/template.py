"""The template: ``python -m legato.executors.template FD``, a process of the processes
executor that has imported what workers need and forks them, so a worker starts in
milliseconds with the orchestrator's libraries already imported (scikit-learn takes about a
second to import, in every fresh interpreter).

It talks to the orchestrator over the Unix socket ``FD`` (one message per packet, pickled
standard types only): ``("warm", modules)`` imports those modules here;
``("fork", id, env, cwd, path)`` with five file descriptors attached (the worker's two
pipe ends, and the orchestrator's standard input, output and error at that moment) forks a
reaper and answers ``("started", id, pid)``; ``("append", id, env, cwd, path)`` with three (the
child's standard input, output and error) forks a run store's append process
(:mod:`legato.store.sql.offload_child`, imported here on the first such request) and answers
the same way; when a process it forked ends, it says
``("ended", pid, wait status)``, as only the parent of a process can learn it. It exits when
the socket closes (the orchestrator closed it, or died), and its reapers, re-parented,
then kill all they watch over.

Why forking here is safe: the template only imports, never runs a task, and has a single
Python thread, so no lock is held by a thread that a forked child would not have. Libraries
may start native threads when imported (OpenBLAS starts its pool): those register handlers
that stop and restart them around ``fork``, as every program that forks after importing
numpy relies on. A module whose import starts a Python thread makes the template refuse
to fork (``("refused", id, why)``), and the executor starts that worker as a fresh
interpreter instead.

The reaper and worker forked from here are those ``python -m legato.executors.reaper``
would start, with the orchestrator's environment, working folder and ``sys.path`` of the
moment the worker is asked for, in a session of their own.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import select
import signal
import socket
import sys
import threading
import warnings
from typing import Any, NoReturn

from legato.executors import reaper, worker

__all__ = ["MAX_MESSAGE", "main"]

offload_child: Any = None
"""``legato.store.sql.offload_child``, once an append process was asked for."""

MAX_MESSAGE = 4 * 1024 * 1024
"""The largest message either side sends (the modules to import are the largest)."""
_FDS = 5


def _warm(modules: list[str]) -> None:
    """Import ``modules`` (those of the orchestrator's libraries); one that fails to import
    is left to the worker that needs it, which reports the error in its task."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in modules:
            if name in sys.modules:
                continue
            with contextlib.suppress(BaseException):
                importlib.import_module(name)


def _enter(stdio: list[int], env: dict[str, str], cwd: str, path: list[str]) -> None:
    """In a forked child: a session of its own, the template's signal handling undone, and
    the orchestrator's standard streams, environment, folder and ``sys.path`` of now."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:] = path


def _child(fds: list[int], env: dict[str, str], cwd: str, path: list[str]) -> NoReturn:
    """The forked reaper: the reaper's loop over a worker that runs in the process it
    forks."""
    try:
        calls, outcomes, *stdio = fds
        _enter(stdio, env, cwd, path)
        reaper.main(["reaper", str(calls), str(outcomes)], start=_run_worker)
    except BaseException as exc:  # nothing to report to but standard error
        with contextlib.suppress(OSError):
            os.write(2, f"legato template: cannot start a worker: {exc!r}\n".encode())
    os._exit(127)


def _append_child(fds: list[int], env: dict[str, str], cwd: str, path: list[str]) -> NoReturn:
    """The forked append process: it serves the store on its standard input and output, as
    ``python -m legato.store.sql.offload_child`` does."""
    code = 127
    try:
        _enter(fds, env, cwd, path)
        code = offload_child.main()
    except BaseException as exc:  # nothing to report to but standard error
        with contextlib.suppress(OSError):
            os.write(2, f"legato template: append process failed: {exc!r}\n".encode())
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)


def _run_worker(argv: list[str]) -> NoReturn:
    code = 1
    try:
        _reseed()
        code = worker.main(argv)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reseed() -> None:
    """Give the worker random state of its own: numpy's global generator was seeded once,
    in the template, and every worker forked from it would draw the same numbers (the
    standard library's ``random`` reseeds itself after a fork)."""
    np_random = sys.modules.get("numpy.random")
    seed = getattr(np_random, "seed", None)
    if seed is not None:
        seed()


def _import_append() -> None:
    """Import the append process's module (once; its failure is the child's to report)."""
    global offload_child
    if offload_child is None:
        with contextlib.suppress(BaseException):
            offload_child = importlib.import_module("legato.store.sql.offload_child")


def _send(sock: socket.socket, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError):
        sock.send(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(sock, ("ended", pid, status))


def main(argv: list[str]) -> int:
    """Serve the orchestrator until its socket closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    sock = socket.socket(fileno=int(argv[1]))
    os.set_inheritable(sock.fileno(), False)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the poll below
    _send(sock, ("ready", os.getpid()))
    # poll, not select: the socket keeps the orchestrator's descriptor number, which may be
    # past select's limit of 1,024 in a process that holds many files.
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        ready = {fd for fd, _ in poller.poll()}
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(sock)
        if sock.fileno() not in ready:  # any event on it (data, hang-up) is read below
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, _FDS)
        except OSError:
            return 0
        if not data:
            return 0  # the orchestrator is gone: the reapers notice and kill all they hold
        message = pickle.loads(data)
        if message[0] == "warm":
            _warm(message[1])
            continue
        kind, ident, env, cwd, path = message
        if kind == "append":
            _import_append()
        if threading.active_count() > 1:
            for fd in fds:
                os.close(fd)
            why = f"an imported module started threads: {threading.enumerate()!r}"
            _send(sock, ("refused", ident, why))
            continue
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.close(wake_r)
            os.close(wake_w)
            (_append_child if kind == "append" else _child)(fds, env, cwd, path)
        for fd in fds:
            os.close(fd)
        _send(sock, ("started", ident, pid))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
