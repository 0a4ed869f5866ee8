"""What a running task can learn about itself."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from legato.config import SecretRefs
from legato.model.slots import slot_init

if TYPE_CHECKING:
    from legato.model.calls import TaskCall

__all__ = ["TaskContext", "current_context", "leave_context", "using_context"]


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskContext:
    """The attempt a task function is running in."""

    run_id: str
    key: str
    """Task key in the run (``train[2]`` for an item of a map, ``train[linear]`` for an item
    of a map keyed by its values)."""
    task: str
    """Name of the task definition."""
    attempt: int
    map_index: int | None = None
    gpu_ids: tuple[int, ...] = ()
    secrets: SecretRefs | None = None
    """The secrets of the run's profile that ``legato.secret`` may read (names and
    environment variables, never values)."""
    call: TaskCall | None = field(default=None, repr=False, compare=False)
    """The call being run (its inputs give a registered model's lineage)."""
    scratch: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Per-attempt state of ``legato.log_*`` (metric step counters, logged parameters)."""


_current: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "legato_task_context", default=None
)


def current_context() -> TaskContext | None:
    """The context of the task attempt running in this thread, or None outside a run."""
    return _current.get()


def using_context(ctx: TaskContext) -> contextvars.Token[TaskContext | None]:
    """Enter ``ctx``; pass the token to :func:`leave_context`."""
    return _current.set(ctx)


def leave_context(token: contextvars.Token[TaskContext | None]) -> None:
    """Leave the context entered with :func:`using_context`."""
    _current.reset(token)
