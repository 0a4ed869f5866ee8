"""A run's events, in SQL, decoded only where wanted: of some kinds (filtered on the
``type`` column), the task events into some states (the ``state`` column: a run's outputs
without decoding the events that led to them), or the task events of some tasks. The
events table has no index by task key, so the events of a few tasks are found by one scan
of the run's rows that the database filters on the key column, and those of many (a page
of thousands) by one scan that reads two light columns (key and sequence number) and
decodes nothing, then fetched by primary key, a chunk of sequence numbers at a time: the
attempts of a page of a million-task run's tasks without decoding its million other task
events."""

from __future__ import annotations

import json
from collections.abc import Collection

import sqlalchemy as sa

from legato.model.codec import EVENT_KINDS, event_from_dict
from legato.model.events import Event, TaskTransitioned
from legato.model.states import TaskState
from legato.store.sql.run_tables import events

__all__ = ["read_events"]

_E = events.c
_CHUNK = 500
"""Sequence numbers per ``IN (...)``: well under SQLite's bound on bound parameters."""


def read_events(
    run_id: str,
    c: sa.Connection,
    *,
    after_seq: int = 0,
    limit: int | None = None,
    kinds: Collection[type[Event]] | None = None,
    keys: Collection[str] | None = None,
    states: Collection[TaskState] | None = None,
) -> list[Event]:
    """The run's events after ``after_seq``, in order: of ``kinds`` when given, the task
    events of ``keys`` and into ``states`` when given (on the ``key`` and ``state``
    columns), the first ``limit`` of them when given."""
    where = [_E.run_id == run_id, _E.seq > after_seq]
    if kinds is not None:
        where.append(_E.type.in_(sorted(EVENT_KINDS[k] for k in kinds)))
    if keys is not None or states is not None:
        where.append(_E.type == EVENT_KINDS[TaskTransitioned])
    if states is not None:
        where.append(_E.state.in_(sorted(s.value for s in states)))
    loads = json.loads
    if keys is None:
        query = sa.select(_E.payload).where(*where).order_by(_E.seq).limit(limit)
        return [event_from_dict(loads(p)) for p in c.execute(query).scalars()]
    wanted = sorted(set(keys))
    if len(wanted) <= _CHUNK:  # one scan, the keys matched by the database
        query = (
            sa.select(_E.payload).where(*where, _E.key.in_(wanted)).order_by(_E.seq).limit(limit)
        )
        return [event_from_dict(loads(p)) for p in c.execute(query).scalars()]
    among = frozenset(wanted)
    scan = sa.select(_E.key, _E.seq).where(*where).order_by(_E.seq)
    seqs = [seq for key, seq in c.execute(scan) if key in among][:limit]
    found: list[Event] = []
    for start in range(0, len(seqs), _CHUNK):
        chunk = seqs[start : start + _CHUNK]
        query = sa.select(_E.payload).where(_E.run_id == run_id, _E.seq.in_(chunk)).order_by(_E.seq)
        found.extend(event_from_dict(loads(p)) for p in c.execute(query).scalars())
    return found
