"""Capturing what each attempt writes: ``print`` (stdout, stderr) and ``logging`` records.

Output is told apart by the task context of the thread that writes it, so tasks running side
by side on threads each get their own lines. Captured text goes to a :class:`LogSink`, which
the engine's driver drains into the run store every turn (and on a short timer while tasks
run), so logs stream while a task is still running. Output written outside any task passes
through as usual; with ``echo`` a task's output is also written through to the real stream.

Secret values (``legato.runtime.secrets``) are masked before anything is stored or echoed:
in the sink when it is drained, after the pieces of a line are joined (``print`` writes a
line in several pieces, a secret could straddle two), in worker processes before entries are
sent, and in each echoed piece.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TextIO

from legato.model.runs import LogEntry
from legato.model.tracking import Tracked
from legato.runtime.context import TaskContext, current_context
from legato.runtime.secrets import mask

__all__ = ["ANY_RUN", "LogSink", "capture_in_process", "join_entries", "release_in_process"]

ANY_RUN = "*"
"""Route name that captures tasks of every run (a worker process serves many)."""

_FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")


class LogSink:
    """A thread-safe buffer of captured output, drained by the engine's driver; it also carries the
    values tasks track (``legato.log_metric``...) along the same paths."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._tracked: list[Tracked] = []

    def write(self, ctx: TaskContext, stream: str, text: str) -> None:
        if not text:
            return
        entry = LogEntry(
            run_id=ctx.run_id,
            key=ctx.key,
            attempt=ctx.attempt,
            stream=stream,
            text=text,
            at=time.time(),
        )
        with self._lock:
            self._entries.append(entry)

    def add(self, entries: list[LogEntry | Tracked]) -> None:
        """Entries captured, and values tracked, elsewhere (a worker process)."""
        with self._lock:
            for entry in entries:
                if isinstance(entry, Tracked):
                    self._tracked.append(entry)
                else:
                    self._entries.append(entry)

    def track(self, record: Tracked) -> None:
        """A value a task tracked in this process."""
        with self._lock:
            self._tracked.append(record)

    def drain_tracked(self) -> list[Tracked]:
        """The values tracked since the last drain, in order."""
        if not self._tracked:  # the common case, without the lock
            return []
        with self._lock:
            tracked, self._tracked = self._tracked, []
        return tracked

    def drain(self) -> list[LogEntry]:
        """What was captured since the last drain, joined and masked (:func:`join_entries`)."""
        with self._lock:
            entries, self._entries = self._entries, []
        return join_entries(entries)


def join_entries(entries: list[LogEntry]) -> list[LogEntry]:
    """``entries`` with consecutive writes of one attempt to one stream joined (``print``
    writes its text and its newline separately), and secret values masked in the result."""
    joined: list[LogEntry] = []
    for entry in entries:
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.run_id == entry.run_id
            and last.key == entry.key
            and last.attempt == entry.attempt
            and last.stream == entry.stream
            and not last.text.endswith("\n")
        ):
            joined[-1] = replace(last, text=last.text + entry.text)
        else:
            joined.append(entry)
    for i, entry in enumerate(joined):
        text = mask(entry.text)
        if text is not entry.text:
            joined[i] = replace(entry, text=text)
    return joined


Route = Callable[[TaskContext, str, str], None]


class _Router(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr``: text written under a task context goes to
    that run's route, the rest to the original stream."""

    def __init__(self, original: TextIO, stream: str) -> None:
        self.original = original
        self.stream = stream

    def write(self, text: str) -> int:
        ctx = current_context()
        route = _route(ctx)
        if ctx is None or route is None:
            return self.original.write(text)
        write, echo = route
        write(ctx, self.stream, text)
        if echo:
            self.original.write(mask(text))
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def isatty(self) -> bool:
        return self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


class _Handler(logging.Handler):
    """Routes log records made under a task context (their level follows the user's logging
    configuration)."""

    def emit(self, record: logging.LogRecord) -> None:
        ctx = current_context()
        route = _route(ctx)
        if ctx is None or route is None:
            return
        try:
            route[0](ctx, "log", _FORMAT.format(record) + "\n")
        except Exception:
            self.handleError(record)


_lock = threading.Lock()
_routes: dict[str, tuple[Route, bool]] = {}


def _route(ctx: TaskContext | None) -> tuple[Route, bool] | None:
    if ctx is None:
        return None
    return _routes.get(ctx.run_id) or _routes.get(ANY_RUN)


_installed: dict[str, Any] = {}


def capture_in_process(run_id: str, write: Route, *, echo: bool) -> None:
    """Capture the output of tasks of ``run_id`` running in this process."""
    with _lock:
        _routes[run_id] = (write, echo)
        if not _installed:
            _installed["stdout"] = sys.stdout
            _installed["stderr"] = sys.stderr
            sys.stdout = _Router(sys.stdout, "stdout")
            sys.stderr = _Router(sys.stderr, "stderr")
            handler = _Handler()
            logging.getLogger().addHandler(handler)
            _installed["handler"] = handler


def release_in_process(run_id: str) -> None:
    """Stop capturing for ``run_id``; the last run out restores the real streams."""
    with _lock:
        _routes.pop(run_id, None)
        if _routes or not _installed:
            return
        if isinstance(sys.stdout, _Router):
            sys.stdout = _installed["stdout"]
        if isinstance(sys.stderr, _Router):
            sys.stderr = _installed["stderr"]
        logging.getLogger().removeHandler(_installed["handler"])
        _installed.clear()
