"""Showing a run while it goes.

A :class:`RunView` is a listener: the engine hands it each batch of committed events, and it
folds them with the engine's own reducer into counts per state and the set of running tasks.
On a terminal :class:`~legato.cli.live.LiveProgress` draws that with ``rich.live`` (a line
per running task, counts, elapsed time) and prints retries and failures above it as they
happen; elsewhere (pipes, CI logs) :class:`PlainProgress` writes one line per task change
that matters.
:class:`LogTail` streams what tasks print, from the run store, prefixed with the task.

Listeners run on the orchestrator's thread, inside its measured working time: they only
update counters and write short lines; drawing happens on rich's refresh thread.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.text import Text

from legato.cli.formats import duration
from legato.cli.settings import mask
from legato.engine import reducer
from legato.model.counts import TaskCount
from legato.model.events import (
    Event,
    MapExpanded,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.records import RunRecord, TaskRecord
from legato.model.states import RunState, TaskState
from legato.store.base import RunStore

if TYPE_CHECKING:
    from legato.cli.live import LiveProgress

__all__ = ["LogTail", "PlainProgress", "RunView", "make_progress", "task_line"]

_ITEMS_FAILED = "legato.MapItemsFailed"


class RunView:
    """A run as its committed events tell it, kept current by ``on_events``. ``start`` is
    the run as recorded so far, for a resumed run (whose first events this view never sees).
    """

    def __init__(self, start: RunRecord | None = None) -> None:
        self.lock = threading.Lock()
        self.record = start
        self.counts: Counter[TaskState] = Counter()
        self.planned = TaskCount(tasks=0)
        """The run's tasks, each map counted as its items (as ``legato graph`` counts)."""
        self.running: dict[str, TaskRecord] = {}
        self.retries = 0
        self.cache_hits = 0
        self.began = time.time()
        self.notes: list[Text] = []
        """What the hooks want shown, printed once the lock is released (drawing the live
        view takes the lock from rich's side: printing under it could deadlock)."""
        if start is not None:
            self._recount(start)

    @property
    def run_id(self) -> str | None:
        return self.record.run_id if self.record is not None else None

    @property
    def total(self) -> int:
        """The run's tasks, each map counted as its items: those it expanded to, or those
        the plan knew of (a map sized only at run time counts once it expands)."""
        return self.planned.tasks

    def on_events(self, events: Sequence[Event]) -> None:
        """The listener protocol: called after each commit, on the orchestrator's thread."""
        with self.lock:
            for event in events:
                self._apply(event)
            notes, self.notes = self.notes, []
        for note in notes:
            self.show(note)

    def show(self, note: Text) -> None:
        """Print one note (outside the lock)."""

    def _recount(self, record: RunRecord) -> None:
        self.planned = TaskCount.of_run(record)
        tasks = [t for t in record.tasks.values() if not t.mapped]
        self.counts = Counter(t.state for t in tasks)
        self.running = {t.key: t for t in tasks if t.state is TaskState.RUNNING}

    def _apply(self, event: Event) -> None:
        record = self.record
        if record is None:
            if not isinstance(event, RunStarted):
                return
            record = self.record = RunRecord(run_id=event.run_id)
        if event.seq <= record.last_seq or event.run_id != record.run_id:
            return
        if isinstance(event, TaskTransitioned):
            old = record.tasks.get(event.key)
            if old is None:
                return
            reducer.apply(record, event)
            new = record.tasks[event.key]
            if not new.mapped:
                self.counts[old.state] -= 1
                self.counts[new.state] += 1
                if new.state is TaskState.RUNNING:
                    self.running[new.key] = new
                else:
                    self.running.pop(new.key, None)
                if new.state is TaskState.RETRY_WAIT:
                    self.retries += 1
                elif new.state is TaskState.SUCCEEDED and new.cache_hit:
                    self.cache_hits += 1
            self.task_changed(new)
        elif isinstance(event, MapExpanded):
            reducer.apply(record, event)
            self.planned = self.planned.expanded(record.sizes.get(event.key), event.count)
            self.counts[TaskState.READY] += event.count
            self.task_changed(record.tasks[event.key], expanded=event.count)
        elif isinstance(event, RunStarted):
            reducer.apply(record, event)
            self.began = event.at
            self._recount(record)
            self.run_started(record)
        else:
            reducer.apply(record, event)
            if isinstance(event, RollbackTransitioned):
                self._rollback_changed(event)
            if isinstance(event, RunTransitioned):
                if event.state is RunState.RUNNING and event.reason == "resumed":
                    self.began = event.at
                    self.notes.append(
                        Text(f"resuming run {record.run_id} of pipeline {record.pipeline}")
                    )
                self.run_changed(event)

    # What subclasses show; called with the lock held.

    def run_started(self, record: RunRecord) -> None:
        """The run's plan is known."""

    def task_changed(self, record: TaskRecord, expanded: int | None = None) -> None:
        """A task moved to ``record.state`` (or a map's list became known: ``expanded``)."""

    def run_changed(self, event: RunTransitioned) -> None:
        """The run itself changed state."""

    def _rollback_changed(self, event: RollbackTransitioned) -> None:
        # Every view prints rollback steps: a failed run undoing its work is rare and matters.
        verb = {"started": "undoing", "succeeded": "undone"}.get(event.state.value, "undo failed")
        detail = f"  {mask(event.reason)}" if event.reason else ""
        self.notes.append(Text(f"{verb:<10} {event.key}{detail}"))


def task_line(record: TaskRecord, expanded: int | None = None) -> tuple[str, str] | None:
    """What to say about a task's new state, as (verb, detail), or None when nothing is
    worth a line (a task waiting for its inputs or for a free slot)."""
    state = record.state
    if expanded is not None:
        return "mapped", f"over {expanded} item{'s' if expanded != 1 else ''}"
    if state is TaskState.RUNNING:
        if record.mapped:
            return None
        return "started", f"attempt {record.attempt}" if record.attempt > 1 else ""
    if state is TaskState.RETRY_WAIT:
        return "retrying", mask(record.reason or _error(record))
    if state is TaskState.SUCCEEDED:
        if record.cache_hit:
            return "cached", f"hit from run {record.cache_hit}"
        if record.mapped:
            return "succeeded", f"{record.items or 0} items in {duration(record.duration)}"
        return "succeeded", f"in {duration(record.duration)}"
    if state in (TaskState.FAILED, TaskState.TIMED_OUT):
        if record.error is not None and record.error.type_name == _ITEMS_FAILED:
            return None  # each failed item had its own line
        verb = "failed" if state is TaskState.FAILED else "timed out"
        return verb, mask(_error(record))
    if state is TaskState.UPSTREAM_FAILED:
        return "not run", mask(record.reason or "an upstream task failed")
    if state is TaskState.SKIPPED:
        return "skipped", mask(record.reason or "its branch was not taken")
    if state is TaskState.CANCELLED:
        return "cancelled", mask(record.reason)
    return None


def _error(record: TaskRecord) -> str:
    if record.error is not None:
        return record.error.summary()
    return record.reason


class PlainProgress(RunView):
    """One line per task change that matters, for logs and pipes: ``  0.21s  started
    load``. Lines are flushed as they are written, so a CI log shows them live."""

    def __init__(self, out: TextIO | None = None, start: RunRecord | None = None) -> None:
        super().__init__(start)
        self.out = out if out is not None else sys.stdout
        self.write_lock = threading.Lock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def show(self, note: Text) -> None:
        self.write(note.plain)

    def write(self, line: str) -> None:
        with self.write_lock:
            self.out.write(line + "\n")
            self.out.flush()

    def log(self, key: str, text: str) -> None:
        """Captured task output, one prefixed line per line."""
        lines = mask(text).rstrip("\n").split("\n")
        self.write("\n".join(f"{key} | {line}" for line in lines))

    def _stamp(self, at: float | None) -> str:
        elapsed = max(0.0, (at if at is not None else time.time()) - self.began)
        return f"{elapsed:8.2f}s"

    def run_started(self, record: RunRecord) -> None:
        self.notes.append(
            Text(
                f"run {record.run_id} of pipeline {record.pipeline}: {self.planned}, "
                f"executor {record.executor or 'default'}"
            )
        )

    def task_changed(self, record: TaskRecord, expanded: int | None = None) -> None:
        line = task_line(record, expanded)
        if line is None:
            return
        verb, detail = line
        at = record.ended_at if record.state.is_terminal else record.started_at
        text = f"{self._stamp(at)}  {verb:<10} {record.key}"
        self.notes.append(Text(f"{text}  {detail}" if detail else text))

    def run_changed(self, event: RunTransitioned) -> None:
        if event.state is RunState.CANCELLING:
            line = f"{self._stamp(event.at)}  cancelling {mask(event.reason)}"
            self.notes.append(Text(line.rstrip()))


def make_progress(console: Console, start: RunRecord | None = None) -> LiveProgress | PlainProgress:
    """The live view on a terminal, plain lines elsewhere."""
    if console.is_terminal and not console.is_dumb_terminal:
        # Imported here: rich's live display, spinner and table are ~29M instructions
        # that a run whose output goes to a pipe or a file never draws.
        from legato.cli.live import LiveProgress  # noqa: PLC0415

        return LiveProgress(console, start)
    return PlainProgress(start=start)


class LogTail:
    """Streams a run's captured task output from the run store while it runs: a thread
    reads what was stored since the last read, a few times a second, and hands each entry
    to ``emit(task, text)``. Best effort: a read that fails stops the tail, never the run."""

    def __init__(
        self,
        store: RunStore,
        view: RunView,
        emit: Callable[[str, str], None],
        *,
        after_seq: int = 0,
        interval: float = 0.25,
    ) -> None:
        self.store = store
        self.view = view
        self.emit = emit
        self.seq = after_seq
        self.interval = interval
        self._stop = threading.Event()
        self._failed = False
        self._read_lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name="legato-log-tail", daemon=True)

    def __enter__(self) -> LogTail:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.drain()

    def _main(self) -> None:
        while not self._stop.wait(self.interval):
            self.drain()

    def drain(self) -> None:
        """Hand on what was stored since the last call."""
        run_id = self.view.run_id
        if run_id is None or self._failed:
            return
        with self._read_lock:
            try:
                entries = self.store.read_logs(run_id, after_seq=self.seq)
            except Exception:
                self._failed = True
                return
            for entry in entries:
                self.seq = max(self.seq, entry.seq)
                key = entry.key if entry.attempt <= 1 else f"{entry.key}#{entry.attempt}"
                self.emit(key, entry.text)
