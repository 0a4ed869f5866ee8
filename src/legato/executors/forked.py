"""Worker processes forked from the template (``executors.template``), as the orchestrator
holds them: one template per orchestrator process, started with the first processes
executor and kept for the next ones (a process that runs many pipelines pays for its
imports once), and a :class:`ForkedProcess` per worker that answers like the
``subprocess.Popen`` of a worker started as a fresh interpreter.

What the template imports: the modules of installed libraries (under a ``site-packages`` or
``dist-packages`` folder) that the orchestrator has imported when a processes executor
opens, in the order it imported them, and legato's definition modules (``legato.define``:
what a pipeline's module imports to declare its tasks, a tenth of a second on the quiet
machine, paid otherwise by each worker's first task); nothing of the user's own code (a
worker imports the pipeline's modules itself, fresh, as before) and nothing else of legato
beyond the worker. legato's own modules never change while the orchestrator runs (it has
them imported), so the template's copy is the orchestrator's.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

from legato.executors.native_threads import native_thread_env
from legato.executors.template import MAX_MESSAGE
from legato.store.sql import offload

__all__ = [
    "ForkedProcess",
    "Template",
    "TemplateError",
    "definition_modules",
    "fork_append",
    "installed_modules",
    "shared_template",
]

_START_TIMEOUT_S = 60.0
"""How long the template may take to start, or to import before it answers."""
_LIBRARIES = ("site-packages", "dist-packages")
_DEFINITIONS = "legato.define"


class TemplateError(Exception):
    """The template could not start a worker (it is gone, or refused): start a fresh
    interpreter instead."""


def installed_modules() -> list[str]:
    """The modules of installed libraries this process has imported (importing one by name
    imports its packages first, whatever the order)."""
    found: list[str] = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or name.startswith(("legato", "__")):
            continue
        parts = file.split(os.sep)
        if any(part in _LIBRARIES for part in parts):
            found.append(name)
    return found


def definition_modules() -> list[str]:
    """legato's definition modules this process has imported (a pipeline's module imports
    them through ``from legato import task, pipeline``)."""
    return [
        name
        for name in list(sys.modules)
        if name == _DEFINITIONS or name.startswith(_DEFINITIONS + ".")
    ]


class ForkedProcess:
    """A reaper forked by the template: ``pid``, ``poll``, ``wait``, ``send_signal`` and
    ``returncode`` as ``subprocess.Popen`` has them (its exit status comes from the
    template, its parent)."""

    def __init__(self, changed: threading.Condition, pid: int) -> None:
        self.pid = pid
        self._changed = changed
        self.returncode: int | None = None
        """The exit code (negative: killed by that signal), set by the template's word."""

    def poll(self) -> int | None:
        """The exit code once it ended, else None."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to end (``subprocess.TimeoutExpired`` after ``timeout`` seconds)."""
        with self._changed:
            self._changed.wait_for(lambda: self.returncode is not None, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"reaper {self.pid}", timeout or 0.0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Signal it, unless it has ended (its pid may be another process's by then)."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


class Template:
    """The template process, and what it said of the reapers it forked. Its libraries use
    ``native_threads`` threads each (:mod:`~legato.executors.native_threads`; ``None``: as
    the environment says), and so do its workers: libraries size their pools as they load,
    here."""

    def __init__(self, native_threads: int | None = None) -> None:
        self.native_threads = native_threads
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env.update(native_thread_env(native_threads))
        env.pop("LEGATO_CRASH_AT", None)  # crash points are for the orchestrator under test
        env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "legato.executors.template", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                env=env,
            )
        finally:
            theirs.close()
        self._sock = ours
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self._replies: dict[int, ForkedProcess | str] = {}
        self._running: dict[int, ForkedProcess] = {}
        self._alive = True
        self._next = 0
        self._warmed: set[str] = set()
        ours.settimeout(_START_TIMEOUT_S)
        try:
            ready = pickle.loads(ours.recv(MAX_MESSAGE) or pickle.dumps(("gone",)))
        except (OSError, pickle.UnpicklingError) as exc:
            self.close()
            raise TemplateError(f"the worker template did not start: {exc}") from exc
        if ready[0] != "ready":
            self.close()
            raise TemplateError("the worker template exited as it started")
        ours.settimeout(None)
        threading.Thread(target=self._listen, name="legato-template", daemon=True).start()

    @property
    def alive(self) -> bool:
        """Whether it still forks workers."""
        return self._alive

    def warm(self, modules: list[str]) -> None:
        """Have it import ``modules`` (those it has not been given yet) before it forks the
        next worker."""
        new = [m for m in modules if m not in self._warmed]
        if new:
            self._send(("warm", new), [])
            self._warmed.update(new)

    def fork(self, fds: tuple[int, int], env: Mapping[str, str]) -> ForkedProcess:
        """A reaper (and its worker) talking over ``fds``, with ``env``, this process's
        working folder, ``sys.path`` and standard streams; ``TemplateError`` when it
        cannot."""
        return self._fork("fork", [*fds, 0, 1, 2], env)

    def fork_append(self, fds: tuple[int, int], env: Mapping[str, str]) -> ForkedProcess:
        """A run store's append process reading ``fds[0]`` and answering on ``fds[1]``
        (:mod:`legato.store.sql.offload`), with ``env``, this process's working folder,
        ``sys.path`` and standard error; ``TemplateError`` when it cannot."""
        return self._fork("append", [*fds, 2], env)

    def _fork(self, kind: str, fds: list[int], env: Mapping[str, str]) -> ForkedProcess:
        with self._changed:
            self._next += 1
            ident = self._next
        message = (kind, ident, dict(env), os.getcwd(), list(sys.path))
        self._send(message, fds)
        with self._changed:
            if not self._changed.wait_for(
                lambda: ident in self._replies or not self._alive, _START_TIMEOUT_S
            ):
                raise TemplateError("the worker template did not answer")
            reply = self._replies.pop(ident, None)
        if reply is None:
            raise TemplateError("the worker template is gone")
        if isinstance(reply, str):
            raise TemplateError(f"the worker template refused to fork: {reply}")
        return reply

    def close(self) -> None:
        """End it (its reapers, re-parented, then kill what they hold)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)

    def _send(self, message: tuple[Any, ...], fds: list[int]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with self._send_lock:
                socket.send_fds(self._sock, [data], fds)
        except OSError as exc:
            raise TemplateError(f"the worker template is gone ({exc})") from exc

    def _listen(self) -> None:
        while True:
            try:
                data = self._sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            with self._changed:
                if not data:
                    self._alive = False
                    for proc in self._running.values():
                        proc.returncode = -signal.SIGKILL  # its reapers kill all they hold
                    self._running.clear()
                    self._changed.notify_all()
                    return
                message = pickle.loads(data)
                if message[0] == "ended":
                    ended = self._running.pop(message[1], None)
                    if ended is not None:
                        ended.returncode = os.waitstatus_to_exitcode(message[2])
                elif message[0] == "started":
                    # Registered here, not by fork(): its end may be the next message.
                    proc = self._running[message[2]] = ForkedProcess(self._changed, message[2])
                    self._replies[message[1]] = proc
                else:
                    self._replies[message[1]] = str(message[2])
                self._changed.notify_all()


_shared: dict[int | None, Template] = {}
_shared_lock = threading.Lock()


def shared_template(native_threads: int | None = None) -> Template:
    """This process's template whose libraries use ``native_threads`` threads, started on
    first use (again if it died); ``TemplateError`` if it cannot start. Executors of
    one size on one machine share one. While one lives, run stores fork their append
    processes from it (:func:`fork_append`)."""
    with _shared_lock:
        template = _shared.get(native_threads)
        if template is None or not template.alive:
            template = _shared[native_threads] = Template(native_threads)
            offload.fork_with(fork_append)
        return template


def fork_append(fds: tuple[int, int], env: Mapping[str, str]) -> ForkedProcess:
    """A run store's append process forked from this process's template, if one lives
    (none is started for it: a fresh one would take as long as the process it saves);
    ``OSError`` otherwise, and the store starts a fresh interpreter."""
    template = next((t for t in list(_shared.values()) if t.alive), None)
    if template is None:
        raise OSError("no worker template runs")
    try:
        return template.fork_append(fds, env)
    except TemplateError as exc:
        raise OSError(str(exc)) from exc


def _forget() -> None:
    global _shared, _shared_lock
    _shared, _shared_lock = {}, threading.Lock()  # a forked child has no template


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
