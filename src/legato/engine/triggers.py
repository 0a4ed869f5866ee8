"""What a task does once its inputs have ended, by its trigger rule. Pure.

A task with the default trigger (``all_succeeded``) is settled by its *first* input that
does not succeed (the table blocks it at once): a skipped input skips it, a cancelled one
cancels it, anything else makes it ``upstream_failed``. A task with another trigger, and
any task inside a ``legato.when`` branch, waits until every input has ended and is then
settled here, from how those that did not succeed ended: it runs (``None``) or ends in the
state returned. Inside a branch a skip wins over a failure that ended first, so whether a
task is skipped depends on its branch alone, never on timing. A task that runs is handed a
:class:`~legato.model.triggers.FailedInput` for each of them (:func:`failed_input`).
"""

from __future__ import annotations

from collections.abc import Mapping

from legato.model.errors import ErrorInfo
from legato.model.records import TaskRecord
from legato.model.states import TaskState
from legato.model.triggers import FailedInput, Trigger

__all__ = ["blocked_state", "failed_input", "settle"]

_FAILURES = frozenset({TaskState.FAILED, TaskState.TIMED_OUT, TaskState.UPSTREAM_FAILED})


def blocked_state(input_state: TaskState) -> TaskState:
    """How a task with the default trigger ends when an input ends ``input_state``."""
    if input_state is TaskState.SKIPPED:
        return TaskState.SKIPPED
    if input_state is TaskState.CANCELLED:
        return TaskState.CANCELLED  # a cancel is nobody's failure
    return TaskState.UPSTREAM_FAILED


def settle(
    trigger: Trigger,
    unmet: Mapping[str, TaskState],
    *,
    inputs: int,
    branches: tuple[str, ...] = (),
) -> TaskState | None:
    """Once every one of its ``inputs`` has ended, ``unmet`` holding those that did not
    succeed: None if the task runs, else the state it ends in. Whatever the trigger, a task
    on a branch (``branches``: the tasks deciding them) that was not taken is skipped, and
    one whose branch could not be decided is ``upstream_failed``."""
    for decision in branches:
        state = unmet.get(decision)
        if state is not None:
            return blocked_state(state)
    if not unmet:
        return TaskState.SKIPPED if trigger is Trigger.ANY_FAILED else None
    states = set(unmet.values())
    if trigger is Trigger.ALL_DONE:
        return None
    if trigger is Trigger.ANY_FAILED:
        return None if states & _FAILURES else TaskState.SKIPPED
    if trigger is Trigger.ONE_OF:
        if states & _FAILURES:
            return TaskState.UPSTREAM_FAILED
        if TaskState.CANCELLED in states:
            return TaskState.CANCELLED
        return TaskState.SKIPPED if len(unmet) == inputs else None
    # All succeeded, on a branch (see the module docstring): a skipped input means the
    # branch was not taken, whatever else ended badly meanwhile.
    for ending in (TaskState.SKIPPED, TaskState.CANCELLED):
        if ending in states:
            return ending
    return TaskState.UPSTREAM_FAILED


def failed_input(record: TaskRecord) -> FailedInput:
    """What a task with a trigger is handed for an input that ended as ``record`` says."""
    error: ErrorInfo | None = record.error
    return FailedInput(
        task=record.key,
        state=record.state.value,
        kind=error.kind.value if error is not None else record.state.value,
        message=error.message if error is not None else record.reason,
        error_type=error.type_name if error is not None else "",
    )
