"""A listener that keeps every event of a run."""

from __future__ import annotations

from collections.abc import Sequence

from legato.engine.reducer import fold
from legato.model.events import Event, TaskTransitioned
from legato.model.records import RunRecord

__all__ = ["EventRecorder"]


class EventRecorder:
    """Keeps the events it receives, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def states(self, key: str) -> list[str]:
        """The states task ``key`` went through."""
        return [
            e.state.value for e in self.events if isinstance(e, TaskTransitioned) and e.key == key
        ]

    def replay(self) -> RunRecord:
        """The run rebuilt from the recorded events alone."""
        return fold(self.events)
