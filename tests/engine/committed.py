"""An executor that checks the write-ahead dispatch rule at every submit.

:class:`CheckedExecutor` wraps a real executor; before it hands a call on, it reads the run
store on a connection of its own (what a process that took the run over after a crash would
find) and notes what the store lacked: for a task's call, the call's own ``running``
transition or the success (with its stored output) of a task whose output the call binds;
for an ``on_rollback`` handler, the ``started`` of its compensation.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from legato import Capacity, Executor
from legato.define.graph import Graph
from legato.executors.base import Report
from legato.model.artifacts import ArtifactRef
from legato.model.calls import TaskCall
from legato.model.events import RollbackTransitioned, TaskTransitioned
from legato.model.rollback import RollbackState
from legato.model.states import TaskState
from legato.runtime.logs import LogSink
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import ArtifactStore, RunStore, Storage
from legato.store.open import open_run_store

__all__ = ["CheckedExecutor", "Committed", "Submit", "broken", "durable_storage"]


@dataclass
class Committed:
    """What the store has committed of one run, read on a connection of its own (what a
    process that took the run over after a crash would find)."""

    store: RunStore
    run_id: str = ""
    seq: int = 0
    running: set[tuple[str, int]] = field(default_factory=set)
    outputs: dict[str, ArtifactRef | None] = field(default_factory=dict)
    """Tasks whose success is committed, and the output reference it records."""
    started: Counter[str] = field(default_factory=Counter)
    """Committed ``started`` transitions of each task's compensation."""

    def read(self, run_id: str) -> None:
        """Catch up with the store (it takes a run's events in order, without gaps: what
        follows ``seq`` is all that is new)."""
        if run_id != self.run_id:
            self.run_id, self.seq = run_id, 0
            self.running, self.outputs = set(), {}
            self.started = Counter()
        for event in self.store.read_events(run_id, after_seq=self.seq):
            self.seq = event.seq
            if isinstance(event, RollbackTransitioned) and event.state is RollbackState.STARTED:
                self.started[event.key] += 1
            if not isinstance(event, TaskTransitioned):
                continue
            if event.state is TaskState.RUNNING:
                self.running.add((event.key, event.attempt))
            elif event.state is TaskState.SUCCEEDED:
                self.outputs[event.key] = event.output


@dataclass(frozen=True)
class Submit:
    """One call as it reached the executor, and what the store lacked at that moment."""

    run_id: str
    key: str
    attempt: int
    handler: bool
    """The call runs the task's ``on_rollback`` handler."""
    missing: tuple[str, ...]


class CheckedExecutor(Executor):
    """A real executor whose ``submit`` first reads the store, and notes for each call
    whether the write-ahead rule held, before handing the call on (it notes rather than
    raises: an exception in ``submit`` would only turn into a failed attempt)."""

    def __init__(self, inner: Executor, reader: RunStore, graph: Graph) -> None:
        self.inner = inner
        self.name = inner.name
        self.synchronous = inner.synchronous
        self.hard_timeouts = inner.hard_timeouts
        self.graph = graph
        self.committed = Committed(reader)
        self.submits: list[Submit] = []

    @property
    def capacity(self) -> Capacity:
        return self.inner.capacity

    def open(
        self, report: Report, artifacts: ArtifactStore | None = None, logs: LogSink | None = None
    ) -> None:
        self.inner.open(report, artifacts, logs)

    def submit(self, call: TaskCall) -> None:
        committed = self.committed
        committed.read(call.run_id)
        node = self.graph.nodes[call.key.split("[", 1)[0]]  # an item's: its mapped node's
        handler = call.fn is node.spec.options.on_rollback
        missing: list[str] = []
        if handler:
            # Each start of a handler is preceded by a committed ``started`` of its own.
            handled = 1 + sum(
                s.handler and s.key == call.key for s in self.submits if s.run_id == call.run_id
            )
            if committed.started[call.key] < handled:
                missing.append(f"rollback {handled} of {call.key} started")
        else:
            if (call.key, call.attempt) not in committed.running:
                missing.append(f"{call.key} running in attempt {call.attempt}")
            for up in node.upstream:
                # A mapped task's success records no reference of its own: its items' do,
                # and they were committed before it.
                stored = up in committed.outputs and (
                    committed.outputs[up] is not None or self.graph.nodes[up].mapped is not None
                )
                if not stored:
                    missing.append(f"{up} succeeded with its output")
        self.submits.append(
            Submit(
                run_id=call.run_id,
                key=call.key,
                attempt=call.attempt,
                handler=handler,
                missing=tuple(missing),
            )
        )
        self.inner.submit(call)

    def cancel(self, call_id: int) -> None:
        self.inner.cancel(call_id)

    def close(self, *, wait: bool = True) -> None:
        self.inner.close(wait=wait)


@contextmanager
def durable_storage() -> Iterator[tuple[Storage, RunStore]]:
    """A run store in a SQLite file of its own (with an artifact folder), and a second
    connection to it for reading what is committed."""
    with tempfile.TemporaryDirectory(prefix="legato-wa-") as folder:
        db = str(Path(folder) / "legato.db")
        runs = open_run_store(db)
        reader = open_run_store(db)
        try:
            yield Storage(runs=runs, artifacts=FsspecArtifactStore(Path(folder) / "art")), reader
        finally:
            reader.close()
            runs.close()


def broken(submits: list[Submit], *, handlers: bool = False) -> list[str]:
    """The submits (of tasks, or of handlers) at which the store lacked something, said."""
    return [
        f"{'handler of ' if s.handler else ''}{s.key} (attempt {s.attempt}) was submitted "
        f"before the store held: {', '.join(s.missing)}"
        for s in submits
        if s.missing and s.handler is handlers
    ]
