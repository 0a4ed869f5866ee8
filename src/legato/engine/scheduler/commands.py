"""What the scheduler asks its driver to do, and the timers it asks for.

The scheduler never acts: each of its inputs (an outcome, a timer, a cancel request, cache
verdicts) changes its state and leaves *events* (what happened, for the store) and
*commands* (what must happen next) for the driver to take. Keeping effects as data is what
lets the scheduler be tested without executors, stores or clocks, and what lets the driver
hold a call back until the events that claim it are durable (write-ahead dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass

from legato.engine.caching import BoundArgs
from legato.engine.plan import PlanNode
from legato.model.calls import TaskCall
from legato.model.slots import slot_init

__all__ = [
    "Cancel",
    "Command",
    "Deadline",
    "LookUp",
    "RetryDue",
    "SetTimer",
    "Submit",
    "Timer",
]


@slot_init
@dataclass(frozen=True, slots=True)
class Submit:
    """Hand ``call`` to the executor once the events up to sequence number ``after`` are
    committed: its claim (``running``, or a compensation's ``started``), and with it every
    event before, such as the successes of the tasks whose outputs it binds. Its timeout
    starts when it is handed over."""

    call: TaskCall
    after: int


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop a submitted call (or drop one still waiting for its claim to be committed);
    either way exactly one outcome for it comes back."""

    call_id: int


@dataclass(frozen=True, slots=True)
class RetryDue:
    """The wait before attempt ``attempt`` of ``key`` is over."""

    key: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Deadline:
    """Call ``call_id`` (attempt ``attempt``) has run for its whole timeout. Armed by the
    driver when it hands the call over, so time spent waiting for a commit never counts."""

    call_id: int
    attempt: int


Timer = RetryDue | Deadline


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Tell the scheduler about ``timer`` in ``delay`` seconds."""

    delay: float
    timer: RetryDue


@dataclass(frozen=True, slots=True)
class LookUp:
    """Ask the cache about these ``(node, task key, bound arguments)`` and answer with
    :meth:`legato.engine.scheduler.Scheduler.on_verdicts` (the lookup reads the store and
    input files: I/O the scheduler does not do)."""

    requests: tuple[tuple[PlanNode, str, BoundArgs], ...]


Command = Submit | Cancel | SetTimer | LookUp
