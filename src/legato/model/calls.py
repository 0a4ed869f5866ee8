"""What the engine hands an executor (a :class:`TaskCall`) and what comes back
(a :class:`TaskOutcome`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from legato.config import SecretRefs
from legato.model.errors import ErrorInfo
from legato.model.slots import slot_init
from legato.model.specs import Resources
from legato.model.values import Arg, Value

__all__ = ["CallStarted", "OutcomeKind", "TaskCall", "TaskOutcome"]


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCall:
    """One attempt of one task, ready to execute: the function and its bound inputs."""

    call_id: int
    """Unique within the executor's life; outcomes name it."""
    run_id: str
    key: str
    """Task key in the run, ``train`` or ``train[3]`` for an item of a map."""
    task: str
    """Name of the task definition."""
    fn: Callable[..., Any]
    fn_id: str
    """Stable identity of ``fn`` so a worker process unpickles each function once."""
    attempt: int
    map_index: int | None
    args: tuple[Arg, ...]
    kwargs: tuple[tuple[str, Arg], ...]
    resources: Resources
    timeout: float | None
    split_output: bool = False
    """Return a list/tuple output item by item, because a map consumes it."""
    gpu_ids: tuple[int, ...] = ()
    """GPUs given to this attempt (``CUDA_VISIBLE_DEVICES`` is set from them)."""
    secrets: SecretRefs | None = None
    """Which secrets the task may read (``legato.secret``): names and the environment
    variables holding them, resolved where the call runs; None outside a configured run."""
    store_url: str | None = None
    """URL of the run's store, for ``legato.register_model`` in a worker process (None: no
    store, or one a worker process cannot open, such as ``memory://``)."""
    owner: str | None = None
    """Owner token of the orchestrator that runs this attempt (None: a run that stores
    nothing): ``legato.register_model`` records a version only while the run is still this
    orchestrator's, checked where the version is written, as its commits are."""

    def ended(self, kind: OutcomeKind, error: ErrorInfo | None = None) -> TaskOutcome:
        """This attempt's outcome where no worker reports one: stopped before it ran, lost
        with its worker, or never sent."""
        return TaskOutcome(
            call_id=self.call_id, key=self.key, attempt=self.attempt, kind=kind, error=error
        )


class OutcomeKind(StrEnum):
    """How an attempt ended, from the executor's side."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """The function raised, or its inputs or output could not be handled."""
    CRASHED = "crashed"
    """The worker died under it."""
    STOPPED = "stopped"
    """It was stopped on request (timeout or cancel) and nothing of it still runs."""


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOutcome:
    """The end of one attempt."""

    call_id: int
    key: str
    attempt: int
    kind: OutcomeKind
    output: Value | None = None
    length: int | None = None
    """``len(output)`` when the output is a list or tuple (maps expand from it)."""
    item_lengths: tuple[int | None, ...] | None = None
    """For a tuple/list output, the length of each item that is itself a list or tuple, so
    a map over ``out[i]`` can expand without loading the output."""
    error: ErrorInfo | None = None
    started_at: float = 0.0
    ended_at: float = 0.0


@dataclass(frozen=True, slots=True)
class CallStarted:
    """Call ``call_id`` (attempt ``attempt``) began to run on its worker. Only executors
    that queue calls of their own (``Executor.starts_late``: a cluster waiting for a node
    with room) send it; the call's timeout counts from here, not from its submit."""

    call_id: int
    attempt: int
