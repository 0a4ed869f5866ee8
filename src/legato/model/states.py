"""Task and run states, their groups and the one table of allowed transitions.

A task's life::

    PENDING ──► READY ──► RUNNING ──► SUCCEEDED    (READY ──► SUCCEEDED: a cache hit)
       │          │         ├──────► FAILED / TIMED_OUT      (no attempts left)
       │          │         ├──────► RETRY_WAIT ──► READY    (next attempt)
       │          │         └──────► CANCELLED
       └──────────┴──────────────────► CANCELLED / UPSTREAM_FAILED
       └──────────────────────────────► SKIPPED  (its branch was not taken)
                          RUNNING ──► SKIPPED  (the task deciding a branch: not taken)

A mapped task (``task.map``) has a group record that goes PENDING ──► RUNNING when its list is
known and expanded, and ends when all its items have ended.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CRASHED",
    "REOPEN_TARGETS",
    "RUN_RESUMABLE",
    "RUN_STATES_SHOWN",
    "RUN_TERMINAL",
    "RUN_TRANSITIONS",
    "TASK_ACTIVE",
    "TASK_OK",
    "TASK_TERMINAL",
    "TASK_TRANSITIONS",
    "RollbackState",
    "RunState",
    "TaskState",
]


class TaskState(StrEnum):
    """Where one task (or one item of a mapped task) stands."""

    PENDING = "pending"
    """Waiting for its inputs."""
    READY = "ready"
    """Inputs are known; waiting for the executor's resources."""
    RUNNING = "running"
    """An attempt is executing."""
    RETRY_WAIT = "retry_wait"
    """An attempt failed; the next one starts after the retry delay."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    """The last attempt ran past its timeout and was stopped."""
    CANCELLED = "cancelled"
    UPSTREAM_FAILED = "upstream_failed"
    """An input it needs could not be produced."""
    SKIPPED = "skipped"
    """It is on a branch (``legato.when``) that was not taken, or reads only skipped work:
    the committed outcome of a condition, never re-decided by a resume."""

    @property
    def is_terminal(self) -> bool:
        return self in TASK_TERMINAL


TASK_TERMINAL = frozenset(
    {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.TIMED_OUT,
        TaskState.CANCELLED,
        TaskState.UPSTREAM_FAILED,
        TaskState.SKIPPED,
    }
)
TASK_OK = frozenset({TaskState.SUCCEEDED, TaskState.SKIPPED})
"""Endings that fail nothing: a run whose tasks all ended so succeeded."""
TASK_ACTIVE = frozenset({TaskState.READY, TaskState.RUNNING, TaskState.RETRY_WAIT})

TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset(
        {
            TaskState.READY,
            TaskState.RUNNING,
            TaskState.CANCELLED,
            TaskState.UPSTREAM_FAILED,
            TaskState.FAILED,
            TaskState.SKIPPED,
        }
    ),
    # READY -> SUCCEEDED: a cache hit, settled without running.
    TaskState.READY: frozenset({TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.CANCELLED}),
    TaskState.RUNNING: frozenset(
        {
            TaskState.SUCCEEDED,
            TaskState.FAILED,
            TaskState.TIMED_OUT,
            TaskState.RETRY_WAIT,
            TaskState.CANCELLED,
            TaskState.SKIPPED,
        }
    ),
    TaskState.RETRY_WAIT: frozenset({TaskState.READY, TaskState.CANCELLED}),
    TaskState.SUCCEEDED: frozenset(),
    TaskState.FAILED: frozenset(),
    TaskState.TIMED_OUT: frozenset(),
    TaskState.CANCELLED: frozenset(),
    TaskState.UPSTREAM_FAILED: frozenset(),
    TaskState.SKIPPED: frozenset(),
}


class RunState(StrEnum):
    """Where a run stands."""

    PENDING = "pending"
    RUNNING = "running"
    CANCELLING = "cancelling"
    """Cancel was asked for; running tasks are being stopped."""
    ROLLING_BACK = "rolling_back"
    """A task failed; the ``on_rollback`` handlers of the tasks that succeeded are running
    (in reverse order of completion). Ends ``failed`` (or ``cancelled`` if interrupted)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in RUN_TERMINAL


RUN_TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})

REOPEN_TARGETS = frozenset({TaskState.PENDING, TaskState.READY, TaskState.RUNNING})
"""Where ``resume`` may send a task that did not succeed, as a new attempt (the previous
attempt's terminal state stays in the history; the new attempt number fences it off)."""

RUN_RESUMABLE = frozenset(
    {
        RunState.RUNNING,
        RunState.CANCELLING,
        RunState.ROLLING_BACK,
        RunState.FAILED,
        RunState.CANCELLED,
    }
)
"""States a run can be resumed from (RUNNING, CANCELLING and ROLLING_BACK: its orchestrator
died)."""

RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.PENDING: frozenset({RunState.RUNNING, RunState.CANCELLED, RunState.FAILED}),
    # RUNNING -> RUNNING, and FAILED/CANCELLED -> RUNNING: a resume.
    RunState.RUNNING: frozenset(
        {
            RunState.RUNNING,
            RunState.CANCELLING,
            RunState.ROLLING_BACK,
            RunState.SUCCEEDED,
            RunState.FAILED,
            RunState.CANCELLED,
        }
    ),
    RunState.CANCELLING: frozenset({RunState.CANCELLED, RunState.RUNNING}),
    # ROLLING_BACK -> ROLLING_BACK, and FAILED/CANCELLED -> ROLLING_BACK: a resume that
    # finishes an unfinished rollback.
    RunState.ROLLING_BACK: frozenset({RunState.ROLLING_BACK, RunState.FAILED, RunState.CANCELLED}),
    RunState.SUCCEEDED: frozenset(),
    RunState.FAILED: frozenset({RunState.RUNNING, RunState.ROLLING_BACK}),
    RunState.CANCELLED: frozenset({RunState.RUNNING, RunState.ROLLING_BACK}),
}


CRASHED = "crashed"
"""How a run that has not ended but whose orchestrator is dead is shown. No run is stored in
this state: readers derive it (``legato.query.runs.shown_state``)."""

RUN_STATES_SHOWN = (*(state.value for state in RunState), CRASHED)
"""The states a list of runs shows and filters on: every :class:`RunState`, and
:data:`CRASHED`."""


class RollbackState(StrEnum):
    """Where one task's compensation stands (:mod:`legato.model.rollback`: its life and its
    record)."""

    PLANNED = "planned"
    """Part of the run's rollback; its handler has not started."""
    STARTED = "started"
    """Its handler was handed to the executor (and may have run, if the orchestrator died)."""
    SUCCEEDED = "succeeded"
    """Its handler returned: the task's effects are undone."""
    FAILED = "failed"
    """Its handler raised, timed out or was interrupted; a resume starts it again."""
