"""Where a turn's events go: first the run store (one transaction), then the listeners.

A listener never sees an event that is not committed, and the loop submits the calls a turn
claimed only after the claim is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from legato._crash import crash_point
from legato.model.events import Event, RunTransitioned, TaskTransitioned
from legato.model.runs import LogEntry
from legato.model.states import TaskState
from legato.store.base import RunStore

__all__ = ["Journal", "Listener"]

log = logging.getLogger("legato.engine")


class Listener(Protocol):
    """Receives a run's events, in order, in batches, after they are committed."""

    def on_events(self, events: Sequence[Event]) -> None: ...


class Journal:
    """Commits events of one run and hands them on."""

    def __init__(
        self,
        run_id: str,
        *,
        store: RunStore | None,
        owner: str,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.run_id = run_id
        self.store = store
        self.owner = owner
        self.listeners = list(listeners)
        self.last_commit = 0.0

    def commit(self, batch: Sequence[Event], now: float) -> None:
        """Make ``batch`` durable (raises ``FencedError`` if another orchestrator took the
        run over), then tell the listeners."""
        if self.store is not None:
            self.store.append(self.run_id, self.owner, batch)
            self.last_commit = now
            for event in batch:  # one crash point per committed success
                if isinstance(event, TaskTransitioned) and event.state is TaskState.SUCCEEDED:
                    crash_point("state_committed")
            if any(isinstance(e, RunTransitioned) and e.state.is_terminal for e in batch):
                crash_point("run_finalised")
        for listener in list(self.listeners):  # a copy: a failing one is removed below
            try:
                listener.on_events(batch)
            except Exception:
                log.exception("listener %r failed; it is dropped from this run", listener)
                self.listeners.remove(listener)

    def logs(self, entries: Sequence[LogEntry]) -> None:
        """Store captured output (best effort: a failure to store logs never fails a run)."""
        if self.store is None:
            return
        try:
            self.store.append_logs(entries)
        except Exception:
            log.exception("could not store %d log entries of run %s", len(entries), self.run_id)

    def heartbeat(self, now: float) -> None:
        """Tell the store this run's orchestrator is alive."""
        if self.store is not None:
            self.store.heartbeat(self.run_id, self.owner, now)
            self.last_commit = now
