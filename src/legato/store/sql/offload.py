"""Appends written by a helper process, so that the run store's work leaves the GIL.

An append turns events into rows (:func:`~legato.store.sql.batch.plan_batch`) and binds
them into statements: tens of microseconds of Python per task, on the same interpreter lock
as the loop and the worker threads. Big runs hand that work to a child process of their own
(a fresh interpreter running :mod:`legato.store.sql.offload_child`, see :func:`fresh_command`,
or the same code forked from a warm process that a :data:`Launcher` reaches, see
:func:`fork_with`), one per store object, which opens
the same database (with the DB-API driver alone: it imports no SQLAlchemy, and starts in tens of
milliseconds) and commits each batch with the store's own code and compiled statements; the
orchestrator's part is encoding the events (about 2 µs each) and waiting for the answer
with the lock released.

The semantics do not change: :meth:`AppendProcess.append` returns only once the child has
committed, and raises the error the store would have raised (``FencedError``,
``UnknownRunError``, ``StoreError``). The child is started in the background
(:meth:`AppendProcess.start`); appends stay in the orchestrator until it reports ready, so a
small run never waits for it. If the child dies, the append in flight is reported as
:class:`OffloadLostError` and the store finishes it itself (it first checks whether the child
committed it).

The child reads requests on its stdin and answers on its stdout: frames of a 4-byte
big-endian length and a JSON body (:mod:`legato.store.sql.frames`). It runs in its own
session (a Ctrl-C meant for the orchestrator does not reach it), and exits when its stdin
closes: when the store is closed or the orchestrator dies, after finishing the transaction it
is in, never one it has only partly received.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Protocol

from legato.errors import FencedError, RunBusyError, StoreError, UnknownRunError
from legato.model.codec import event_to_dict, tracked_to_dict
from legato.model.events import Event
from legato.model.tracking import Tracked
from legato.store.sql.batch import ChangeShape
from legato.store.sql.frames import encode, receive, send
from legato.store.sql.prepared import Prepared

__all__ = [
    "AppendProcess",
    "ChildProcess",
    "Launcher",
    "OffloadLostError",
    "fork_with",
    "fresh_command",
]

log = logging.getLogger("legato.store")

_ERRORS: dict[str, type[StoreError]] = {
    cls.__name__: cls for cls in (FencedError, UnknownRunError, RunBusyError, StoreError)
}
_STOP_TIMEOUT = 10.0


class OffloadLostError(Exception):
    """The child process is gone; whether it committed the append in flight is unknown."""


class ChildProcess(Protocol):
    """What the store needs of its child: ``subprocess.Popen`` has it, and so has a process
    forked from a warm one."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...


Launcher = Callable[[tuple[int, int], Mapping[str, str]], ChildProcess]
"""Forks the append process from a warm process: given the child's standard input (read
end) and output (write end) and its environment, the child; ``OSError`` when it cannot."""

_launcher: Launcher | None = None


def fork_with(launcher: Launcher | None) -> None:
    """Have append processes started by ``launcher`` from now on (the processes executor's
    template registers itself: a child forked from it has legato imported and is ready in
    milliseconds); when it cannot, or with None, the child is a fresh interpreter."""
    global _launcher
    _launcher = launcher


def _forked(
    launcher: Launcher, env: Mapping[str, str]
) -> tuple[ChildProcess, tuple[IO[bytes], IO[bytes]]] | None:
    """The child forked by ``launcher`` and this side's ends of its pipes; None when it
    cannot fork (the caller starts a fresh interpreter)."""
    child_in, to_child = os.pipe()
    from_child, child_out = os.pipe()
    try:
        proc = launcher((child_in, child_out), env)
    except OSError as exc:
        log.debug("the append process starts as a fresh interpreter: %s", exc)
        os.close(to_child)
        os.close(from_child)
        return None
    finally:
        os.close(child_in)  # the launcher passed them on: the child's now
        os.close(child_out)
    return proc, (os.fdopen(to_child, "wb"), os.fdopen(from_child, "rb"))


_MAIN = "import sys; from legato.store.sql.offload_child import main; sys.exit(main())"


def fresh_command() -> list[str]:
    """The command line of an append process started as a fresh interpreter, which is given
    this process's ``sys.path`` (in ``PYTHONPATH``).

    When legato is found through that path, the child skips the ``site`` module (``-S``):
    ``.pth`` files, ``sitecustomize`` and the site-packages scan set up nothing it needs,
    and they are a few percent of its start (more the more ``.pth`` files an environment
    has). An install that finds legato through an import hook of a ``.pth`` file (some
    editable installs) keeps ``site``. ``-c`` rather than ``-m``: ``runpy`` is not needed
    either.
    """
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    found = os.path.realpath(root) in {os.path.realpath(p or os.getcwd()) for p in sys.path}
    return [sys.executable, *(["-S"] if found else []), "-c", _MAIN]


class AppendProcess:
    """The child process appending for one store (see the module's documentation)."""

    def __init__(
        self,
        proc: ChildProcess,
        pipes: tuple[IO[bytes], IO[bytes]],
        where: str,
        compile_change: Callable[[ChangeShape], Prepared],
    ) -> None:
        self._proc = proc
        self._stdin, self._stdout = pipes
        self._where = where
        self._compile_change = compile_change
        self._lock = threading.Lock()  # one request in flight: the child answers in order
        self._ready = threading.Event()
        self._lost = ""
        self._next_id = 0

    @classmethod
    def start(
        cls,
        opening: dict[str, Any],
        where: str,
        compile_change: Callable[[ChangeShape], Prepared],
    ) -> AppendProcess:
        """Start the child with ``opening`` (how to connect, the compiled statements: see
        :mod:`legato.store.sql.offload_child`); it is not :attr:`ready` yet.
        ``compile_change`` gives the projection statement of a change shape the child asks
        for."""
        env = dict(os.environ)
        env.pop("LEGATO_CRASH_AT", None)  # crash points are for the orchestrator under test
        started = _forked(_launcher, env) if _launcher is not None else None
        if started is None:
            env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
            popen = subprocess.Popen(
                fresh_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
                env=env,
            )
            assert popen.stdin is not None
            assert popen.stdout is not None
            started = popen, (popen.stdin, popen.stdout)
        child = cls(*started, where, compile_change)
        # How to connect (a password included) travels on the pipe, not on the command
        # line, where `ps` would show it.
        send(child._stdin, encode(opening))
        threading.Thread(
            target=child._await_ready, name="legato-offload-start", daemon=True
        ).start()
        return child

    @property
    def ready(self) -> bool:
        """Whether the child has opened the store and takes appends."""
        return self._ready.is_set() and not self._lost

    @property
    def lost(self) -> str:
        """Why the child is gone (empty while it lives)."""
        return self._lost

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the child is ready (or gone); whether it is ready."""
        self._ready.wait(timeout)
        return self.ready

    def _await_ready(self) -> None:
        try:
            hello = receive(self._stdout)
        except (OSError, ValueError) as exc:
            hello = {"failed": f"{type(exc).__name__}: {exc}"}
        if not isinstance(hello, dict) or hello.get("ready") is not True:
            failed = hello.get("failed") if isinstance(hello, dict) else None
            self._lost = failed or f"it exited with status {self._proc.wait()}"
            log.warning(
                "the run store at %s writes in this process: its append process did not start (%s)",
                self._where,
                self._lost,
            )
        self._ready.set()

    def append(
        self, run_id: str, owner: str, events: Sequence[Event], tracked: Sequence[Tracked]
    ) -> None:
        """Have the child commit ``events`` and ``tracked`` values in one transaction; raise
        what the store raised, or :class:`OffloadLostError` if the child is gone."""
        request: dict[str, Any] = {
            "run_id": run_id,
            "owner": owner,
            "events": [event_to_dict(e) for e in events],
            "tracked": [tracked_to_dict(t) for t in tracked],
        }
        with self._lock:
            answer = self._ask(request)
            if answer.get("need"):
                # Projection statements the child was not sent yet: send them with the
                # batch again (it wrote nothing the first time).
                request["shapes"] = [
                    [shape, self._compile_change(tuple(shape)).spec()] for shape in answer["need"]
                ]
                answer = self._ask(request)
        error = answer.get("error")
        if error is not None:
            raise _ERRORS.get(error, StoreError)(answer.get("message", ""))

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send ``request`` and read its answer (under the lock)."""
        if self._lost:
            raise OffloadLostError(self._lost)
        self._next_id += 1
        request["id"] = self._next_id
        try:
            send(self._stdin, encode(request))
            answer = receive(self._stdout)
        except (OSError, ValueError) as exc:
            answer = None
            self._lost = f"{type(exc).__name__}: {exc}"
        if not isinstance(answer, dict) or answer.get("id") != self._next_id:
            self._lost = self._lost or f"it exited with status {self._proc.poll()}"
            self._kill()
            raise OffloadLostError(self._lost)
        return answer

    def close(self) -> None:
        """Let the child finish and exit (it is killed if it does not within seconds)."""
        with self._lock:
            self._lost = self._lost or "closed"
            with contextlib.suppress(OSError):
                self._stdin.close()
            try:
                self._proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
            self._stdout.close()

    def _kill(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(_STOP_TIMEOUT)
