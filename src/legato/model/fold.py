"""The task fold, written once: how events change the records of a run's tasks.

A :class:`~legato.model.events.TaskTransitioned` event becomes a :class:`Change`
(:func:`change_of`): for each field of :class:`~legato.model.records.TaskRecord` that events
touch, what happens to it — set to a value, cleared (set to ``None``), kept (:data:`KEEP`) or,
for ``first_started_at``, set only if the record has none. Three readers use it:

- the engine's reducer and the in-memory run store hold the records, and :func:`apply` a
  change to one;
- the SQL run store never holds a record (it lives in a table row): it merges the changes of
  consecutive events of one task and one attempt with :meth:`Change.then` and writes the
  result as one conditional upsert, whose statement binds only what the change sets (what it
  keeps, clears or sets is the statement's *shape*).

Why a change as data rather than a function from record to record: the SQL store needs to know
*what* an event does to each column without the row in hand, and a change that is data
composes, so a batch writes one row per task and attempt however many events it holds. The
law that makes this safe is ``apply(apply(r, a), b) == apply(r, a.then(b))`` for any record
and changes (property-tested in ``tests/model/test_fold.py``).

Which changes a stored record takes is :func:`admits` (a report about an older attempt changes
nothing; a terminal record is final for its attempt, and only a newer attempt replaces it).
Which tasks get a newer attempt after they ended is the engine's rule, not the fence's: a resume
reopens what did not succeed, and a success only when its stored output is damaged
(``engine/rules.py``). The reducer does not fence: it folds what the engine decided, which
already obeys the engine's rules. Both stores fence, because a store also takes writes from an
orchestrator that lost the run; the SQL store's upsert states the same rule in its ``WHERE``
clause, from :data:`FINAL_FOR_ATTEMPT`.

How records come to exist is here too: :func:`add_planned` (a ``RunStarted``) and
:func:`expand` (a ``MapExpanded``), which create the records that do not exist yet.

:class:`Change` is a ``NamedTuple`` rather than a frozen dataclass: it is just as immutable
and several times cheaper to make (a frozen dataclass sets each field through
``object.__setattr__``), and the SQL store makes one per event on the append path, whose cost
per task is one of legato's headline numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import replace
from enum import Enum
from typing import Final, NamedTuple

from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo
from legato.model.events import MapExpanded, RunStarted, TaskTransitioned
from legato.model.items import item_key, item_keys
from legato.model.records import TaskRecord
from legato.model.states import TASK_TERMINAL, TaskState

__all__ = [
    "FINAL_FOR_ATTEMPT",
    "KEEP",
    "UNCHANGED_FIELDS",
    "Change",
    "Keep",
    "add_planned",
    "admits",
    "apply",
    "change_of",
    "expand",
    "item_key",
]


class Keep(Enum):
    """The type of :data:`KEEP`: one value, distinct from ``None`` (which clears a field)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP
"""A :class:`Change` field holding this leaves the record's field as it is."""

UNCHANGED_FIELDS: Final = frozenset({"key", "name", "map_index", "parent", "mapped", "items"})
"""The fields of a :class:`~legato.model.records.TaskRecord` that no task event changes: they
are set when the record is created (planned, or an item of a map) or expanded. Every other
field is one of :class:`Change`'s."""

FINAL_FOR_ATTEMPT: Final = TASK_TERMINAL
"""States after which a record takes no change for the same attempt."""

_RUNNING = TaskState.RUNNING
_RETRY_WAIT = TaskState.RETRY_WAIT
_ENDS_ATTEMPT = TASK_TERMINAL | {TaskState.RETRY_WAIT}


class Change(NamedTuple):
    """What one event (or several of one task and attempt, composed) does to a task record.

    Five fields are set by every event; the others hold the new value or :data:`KEEP`.
    """

    state: TaskState
    attempt: int
    reason: str
    output: ArtifactRef | None
    cache_hit: str | None
    started_at: float | Keep
    """Set when an attempt starts running."""
    ended_at: float | Keep | None
    """Set when an attempt ends, cleared when one starts; kept or set with ``ran_for``."""
    ran_for: float | Keep | None
    """Seconds the attempt's function ran: kept, set or cleared with ``ended_at``."""
    first_started_at: float | None
    """Set only where the record has none (``None``: nothing to set)."""
    error: ErrorInfo | Keep | None
    """Set by an event that carries one; kept while a retry waits; cleared otherwise (the
    failure of an attempt is history once the next one begins)."""
    cache_key: str | Keep
    """Set by an event that carries one (a later event without one keeps it)."""
    cache_parts: Mapping[str, str] | Keep
    """Set by an event that carries them."""

    def then(self, later: Change) -> Change:
        """This change followed by ``later``, as one change: applying it equals applying
        the two in turn."""
        # Unpacking reads a tuple's fields at once, cheaper than one attribute at a time.
        _, _, _, _, _, started, ended, ran_for, first, error, cache_key, cache_parts = self
        (
            state,
            attempt,
            reason,
            output,
            hit,
            l_started,
            l_ended,
            l_ran_for,
            l_first,
            l_error,
            l_key,
            l_parts,
        ) = later
        return _new(
            Change,
            (
                state,
                attempt,
                reason,
                output,
                hit,
                started if l_started is KEEP else l_started,
                ended if l_ended is KEEP else l_ended,
                ran_for if l_ran_for is KEEP else l_ran_for,
                first if first is not None else l_first,
                error if l_error is KEEP else l_error,
                cache_key if l_key is KEEP else l_key,
                cache_parts if l_parts is KEEP else l_parts,
            ),
        )


# A NamedTuple's own __new__ is a Python function that calls this; skipping it saves a frame
# per change (the fields are given in order, all of them).
_new = tuple.__new__


def change_of(event: TaskTransitioned) -> Change:
    """What ``event`` does to its task's record."""
    state = event.state
    started_at: float | Keep = KEEP
    ended_at: float | Keep | None = KEEP
    ran_for: float | Keep | None = KEEP
    first: float | None = None
    if state is _RUNNING:
        started_at = first = event.at
        ended_at = ran_for = None
    elif state in _ENDS_ATTEMPT:
        ended_at, ran_for = event.at, event.ran_for
    error: ErrorInfo | Keep | None = event.error
    if error is None and state is _RETRY_WAIT:
        error = KEEP
    cache_key = event.cache_key
    cache_parts = event.cache_parts
    return _new(
        Change,
        (
            state,
            event.attempt,
            event.reason,
            event.output,
            event.cache_hit,
            started_at,
            ended_at,
            ran_for,
            first,
            error,
            KEEP if cache_key is None else cache_key,
            KEEP if cache_parts is None else cache_parts,
        ),
    )


def apply(record: TaskRecord, change: Change) -> TaskRecord:
    """``record`` as ``change`` leaves it (unfenced: see :func:`admits`)."""
    # Field by field rather than dataclasses.replace, which costs twice as much on the
    # engine's path; UNCHANGED_FIELDS and a test keep the two lists complete.
    state, attempt, reason, output, hit, started, ended, ran_for, first, error, key, parts = change
    if record.first_started_at is not None:
        first = record.first_started_at
    return TaskRecord(
        key=record.key,
        name=record.name,
        map_index=record.map_index,
        parent=record.parent,
        mapped=record.mapped,
        items=record.items,
        state=state,
        attempt=attempt,
        reason=reason,
        output=output,
        cache_hit=hit,
        started_at=record.started_at if started is KEEP else started,
        ended_at=record.ended_at if ended is KEEP else ended,
        ran_for=record.ran_for if ran_for is KEEP else ran_for,
        first_started_at=first,
        error=record.error if error is KEEP else error,
        cache_key=record.cache_key if key is KEEP else key,
        cache_parts=record.cache_parts if parts is KEEP else parts,
    )


def admits(state: TaskState, attempt: int, change_attempt: int) -> bool:
    """Whether a stored record in ``state`` at ``attempt`` takes a change about
    ``change_attempt``: a report about an older attempt changes nothing; a terminal record is
    final for its attempt; a resume's newer attempt replaces it."""
    if change_attempt == attempt:
        return state not in FINAL_FOR_ATTEMPT
    return change_attempt > attempt


def add_planned(tasks: MutableMapping[str, TaskRecord], event: RunStarted) -> None:
    """Add a record for each task of the plan that has none yet (``pending``)."""
    for planned in event.tasks:
        if planned.key not in tasks:
            tasks[planned.key] = TaskRecord(
                key=planned.key, name=planned.name, mapped=planned.mapped
            )


def expand(tasks: MutableMapping[str, TaskRecord], event: MapExpanded) -> None:
    """Mark the group record of the mapped task expanded and add a record for each of its
    items that has none yet (``ready``, named after the group; keyed ``key[item key]`` when
    the event names the items, else ``key[i]``)."""
    # The group itself moved to RUNNING by a TaskTransitioned just before. An expansion
    # adds records and never resets one (the SQL store's insert does nothing on conflict).
    key = event.key
    group = tasks.get(key)
    name = key
    if group is not None:
        name = group.name
        tasks[key] = replace(group, mapped=True, items=event.count)
    ready = TaskState.READY
    for i, child in enumerate(item_keys(key, event.count, event.keys)):
        if child not in tasks:
            tasks[child] = TaskRecord(key=child, name=name, state=ready, map_index=i, parent=key)
