"""When a task runs given how its inputs ended: trigger rules, the value a task with one is
handed for an input that did not succeed, and the signal of a branch not taken.

A task waits for its inputs. By default (``all_succeeded``) it runs only if every input
succeeded; otherwise it ends ``upstream_failed``, ``skipped`` or ``cancelled`` as its input
did. A task with another trigger waits until every input has *ended*, whatever the ending,
and is handed a :class:`FailedInput` for each input that did not succeed: an error it can
inspect, never a crash of its binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BRANCH_NOT_TAKEN", "BranchNotTaken", "FailedInput", "Trigger"]


class Trigger(StrEnum):
    """When a task runs, given how its inputs ended (``@task(trigger=...)``)."""

    ALL_SUCCEEDED = "all_succeeded"
    """Every input succeeded (the default). A failed input makes it ``upstream_failed``, a
    skipped one ``skipped``, a cancelled one ``cancelled``."""
    ALL_DONE = "all_done"
    """Every input ended, however: cleanup, reports, notifications."""
    ANY_FAILED = "any_failed"
    """Every input ended and at least one failed (failed, timed out or upstream failed);
    ``skipped`` otherwise: alerts and fallbacks."""
    ONE_OF = "one_of"
    """Every input ended and at least one succeeded (the join :func:`legato.one_of` makes):
    ``upstream_failed`` when one failed, ``skipped`` when all were skipped."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedInput:
    """What a task with a trigger rule is handed for an input that did not succeed.

    ``state`` is how the input ended (``failed``, ``timed_out``, ``upstream_failed``,
    ``skipped``, ``cancelled``); ``kind`` why, as legato recorded it (``raised``, ``timeout``,
    ``crash``..., or the state when there was no error); ``message`` the recorded error or
    reason. It is falsy, so ``if report:`` tells a value from a missing one.
    """

    task: str
    """The key of the task that produced no value."""
    state: str
    kind: str
    message: str
    error_type: str = ""
    """The qualified class name of the exception, when the task raised."""

    def __bool__(self) -> bool:
        return False

    @property
    def skipped(self) -> bool:
        """Whether the input was on a branch not taken (rather than failed)."""
        return self.state == "skipped"

    def __str__(self) -> str:
        said = f"task {self.task!r} {self.state}"
        return f"{said}: {self.message}" if self.message else said


class BranchNotTaken(Exception):  # noqa: N818 - a signal, not an error
    """Raised by the task that decides a ``legato.when`` branch when its condition does not
    hold: the engine records the decision as the ``skipped`` state (never a failure), so it
    travels back from any executor the way an error does, with no output to load."""


BRANCH_NOT_TAKEN = f"{BranchNotTaken.__module__}.{BranchNotTaken.__qualname__}"
"""The recorded type name of :class:`BranchNotTaken`."""
