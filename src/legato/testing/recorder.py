"""A listener that keeps every event of a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from legato.define.graph import Graph
from legato.engine.reducer import fold
from legato.model.events import Event, TaskTransitioned
from legato.model.records import RunRecord
from legato.model.states import TaskState
from legato.testing.history import check_history, save_history

__all__ = ["EventRecorder"]


class EventRecorder:
    """Keeps the events it receives, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def transitions(self, key: str | None = None) -> list[TaskTransitioned]:
        """The task transitions recorded, of task ``key`` only when given."""
        return [
            e
            for e in self.events
            if isinstance(e, TaskTransitioned) and (key is None or e.key == key)
        ]

    def states(self, key: str) -> list[str]:
        """The states task ``key`` went through."""
        return [e.state.value for e in self.transitions(key)]

    def runs(self, key: str) -> int:
        """How many attempts of task ``key`` started (its RUNNING transitions)."""
        return sum(1 for e in self.transitions(key) if e.state is TaskState.RUNNING)

    def replay(self) -> RunRecord:
        """The run rebuilt from the recorded events alone."""
        return fold(self.events)

    def check(self, graph: Graph | None = None, *, complete: bool = True) -> RunRecord:
        """Check the recorded events with :func:`~legato.testing.check_history`; the run
        they fold into."""
        return check_history(self.events, graph=graph, complete=complete)

    def save(self, path: str | Path) -> None:
        """Write the recorded events to ``path`` (see :func:`~legato.testing.save_history`),
        e.g. to keep a run as a replay-test fixture."""
        save_history(self.events, path)
