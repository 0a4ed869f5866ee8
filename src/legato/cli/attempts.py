"""Every attempt of a run's tasks, as its event log tells them.

The task records keep only the latest attempt of each task; the log keeps them all: an
attempt that failed and was retried, one that timed out, one that failed before the run was
resumed. ``legato runs show`` prints their errors and ``legato logs`` heads the output of
each attempt with how it ended. Pure: it folds events it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import Event, TaskTransitioned
from legato.model.states import TaskState

__all__ = ["Attempt", "Attempts", "attempts_of"]

_ERROR_STATES = frozenset({TaskState.FAILED, TaskState.TIMED_OUT, TaskState.RETRY_WAIT})


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One attempt of one task (an item of a map is a task) and how far it got."""

    key: str
    attempt: int
    state: TaskState
    """The last state the attempt reached: ``retry_wait`` for one that failed and was
    retried."""
    error: ErrorInfo | None = None
    reason: str = ""
    superseded: bool = False
    """A later attempt of the task followed it (a retry, or a resume)."""

    @property
    def settled(self) -> bool:
        """Whether it can change no more: it ended, or a later attempt followed it."""
        return self.superseded or self.state.is_terminal

    @property
    def ended_badly(self) -> bool:
        """Whether it failed or timed out, retried or not."""
        return self.state in _ERROR_STATES

    @property
    def outcome(self) -> str:
        """How it ended, in words: ``succeeded``, ``running``, ``failed, retried``,
        ``timed_out, run again`` (by a resume)..."""
        state = self.state
        if state is TaskState.RETRY_WAIT:
            timed_out = self.error is not None and self.error.kind is ErrorKind.TIMEOUT
            return f"{'timed_out' if timed_out else 'failed'}, retried"
        if self.superseded and state.is_terminal:
            return f"{state.value}, run again"
        return state.value


class Attempts:
    """Folds task events into attempts; a followed run's later events are added as they
    come."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, int], Attempt] = {}
        """Each (task key, attempt), in the order they began."""
        self.seq = 0
        """The last event folded."""
        self._latest: dict[str, int] = {}

    def add(self, events: Iterable[Event]) -> None:
        """Fold ``events`` (those after :attr:`seq`, in order)."""
        for event in events:
            self.seq = max(self.seq, event.seq)
            if isinstance(event, TaskTransitioned):
                self._fold(event)

    def _fold(self, event: TaskTransitioned) -> None:
        ident = (event.key, event.attempt)
        known = self.found.get(ident)
        error = event.error if event.state in _ERROR_STATES else None
        if known is None:
            known = Attempt(key=event.key, attempt=event.attempt, state=event.state)
        self.found[ident] = replace(
            known,
            state=event.state,
            error=error if error is not None else known.error,
            reason=event.reason,
        )
        previous = self._latest.get(event.key, 0)
        if previous < event.attempt:
            before = self.found.get((event.key, previous))
            if before is not None:
                self.found[(event.key, previous)] = replace(before, superseded=True)
            self._latest[event.key] = event.attempt


def attempts_of(events: Iterable[Event]) -> dict[tuple[str, int], Attempt]:
    """Each (task key, attempt) of the run's task events, in the order they began, with
    the last state it reached and the error it ended with."""
    attempts = Attempts()
    attempts.add(events)
    return attempts.found
