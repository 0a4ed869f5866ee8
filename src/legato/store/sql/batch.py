"""One append turned into table rows, in plain Python (no SQL here).

The task projection is updated with one conditional upsert per *segment*: the consecutive
events of one task key that name the same attempt, their changes
(:func:`legato.model.fold.change_of`) composed into the one change they make together
(:meth:`~legato.model.fold.Change.then`). A key's segments are upserted in order (round 1 holds
every key's first segment, round 2 the second ones...), and the upsert's ``WHERE`` applies the
fence (:func:`legato.model.fold.admits`: a terminal row changes only for a newer attempt, a
success never; a change naming an older attempt is ignored) against the row as the previous
segment left it. Within a segment every event names the same attempt, so none is stale against
another, and events after a terminal one are dropped here by the same fence: the result is
exactly that of applying the events one by one, as the in-memory store does.

Planned tasks (``RunStarted``) and map items (``MapExpanded``) create rows; such an event
closes the changes gathered before it, so the projection sees creations and changes in the
order of the events (``Batch.steps``).

A segment has a *shape*, read off its composed change: which fields it sets, leaves alone or
clears. Each shape gets its own
statement (:meth:`~legato.store.sql.statements.AppendStatements.change`) that binds only
what the shape sets and writes NULLs as constants: a typical change binds 9 to 12 values
instead of 27, which halves SQLite's cost per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from legato.model.artifacts import ArtifactRef
from legato.model.codec import artifact_to_dict, event_to_dict
from legato.model.events import (
    Event,
    MapExpanded,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.fold import KEEP, Change, admits, change_of
from legato.model.states import TaskState
from legato.model.tracking import Tracked, TrackKind

if TYPE_CHECKING:  # the append process plans batches without the run records
    from legato.model.runs import LogEntry

__all__ = [
    "Batch",
    "ChangeShape",
    "dumps",
    "log_rows",
    "output_json",
    "plan_batch",
    "tracked_rows",
]


def _json_encoder() -> Callable[[Any], str]:
    # orjson encodes a small event ten times faster than the standard library; payloads are
    # plain dicts of str, numbers, lists and None, which both encode alike.
    options = orjson.OPT_NON_STR_KEYS

    def dumps(value: Any) -> str:
        try:
            return orjson.dumps(value, option=options).decode()
        except TypeError:  # ints beyond 64 bits: the standard JSON handles them
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    return dumps


def _unencodable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


dumps = _json_encoder()
"""Compact JSON, the one encoding of every JSON column."""

ChangeShape = tuple[bool, bool, bool, int, bool, bool, bool, bool]
"""What a segment's composed :class:`~legato.model.fold.Change` does to a projection row:
sets ``started_at``; sets ``ended_at`` and ``ran_for`` (always together); has a
``first_started_at`` to set if the row has none; error 0 kept, 1 cleared, 2 set; has an
output; sets ``cache_key``; has a ``cache_hit``; sets ``cache_parts``."""

Rounds = list[dict[ChangeShape, list[dict[str, Any]]]]
"""Projection changes: rounds in order (round *n* holds each key's *n*-th segment); in each,
the rows of each shape."""

ERROR_KEPT, ERROR_CLEARED, ERROR_SET = 0, 1, 2

_SUCCEEDED = TaskState.SUCCEEDED
_TAKES_SAME_ATTEMPT = {s: admits(s, 1, 1) for s in TaskState}
"""The fence within a segment, by the state the segment has reached (one lookup per event)."""
_TEXT = {s: s.value for s in TaskState}  # a dict lookup; Enum.value is a slow descriptor


@dataclass(slots=True)
class Batch:
    """The rows one append writes, grouped by statement."""

    run_id: str
    first_seq: int
    last_seq: int
    last_at: float
    events: list[dict[str, Any]] = field(default_factory=list)
    steps: list[tuple[str, Any]] = field(default_factory=list)
    """Projection writes in event order: ``("tasks", RunStarted)`` and ``("expand",
    MapExpanded)``, whose rows the writer makes a slice at a time (a plan of a million
    tasks would otherwise be a million row dicts at once), and ``("changes", Rounds)``."""
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    cache: list[dict[str, Any]] = field(default_factory=list)
    run_state: dict[str, Any] | None = None
    """The run's new state, reason and end, when the batch transitions the run."""
    metrics: list[dict[str, Any]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    """Tracked values of attempts (:func:`tracked_rows`)."""


def output_json(ref: ArtifactRef) -> str:
    """An output reference as stored beside a task: everything but the inline bytes, which
    are stored once, in the artifact's row."""
    d = artifact_to_dict(ref)
    d.pop("inline", None)
    return dumps(d)


def plan_batch(
    run_id: str, events: Sequence[Event], payloads: Sequence[dict[str, Any]] | None = None
) -> Batch:
    """The rows for ``events`` (already checked to continue ``run_id``'s log). ``payloads``:
    the events as :func:`~legato.model.codec.event_to_dict` made them, when the caller has
    them already (the append process is sent them): the payload column is their JSON."""
    batch = Batch(
        run_id=run_id, first_seq=events[0].seq, last_seq=events[-1].seq, last_at=events[-1].at
    )
    rows = batch.events
    segments: dict[str, list[_Segment]] = {}
    outputs: dict[int, str] = {}
    for i, event in enumerate(events):
        payload = event_to_dict(event) if payloads is None else payloads[i]
        if isinstance(event, TaskTransitioned):
            rows.append(
                {
                    "run_id": run_id,
                    "seq": event.seq,
                    "type": "task",
                    "key": event.key,
                    "state": _TEXT[event.state],
                    "attempt": event.attempt,
                    "at": event.at,
                    "payload": dumps(payload),
                }
            )
            _fold(segments, event)
            if event.output is not None:
                _output(batch, event, event.output, outputs)
            continue
        key: str | None = None
        state: str | None = None
        if isinstance(event, MapExpanded):
            key = event.key
            _flush(batch, segments, outputs)
            batch.steps.append(("expand", event))
        elif isinstance(event, RunTransitioned):
            state = event.state.value
            _transition(batch, event)
        elif isinstance(event, RunStarted):
            _flush(batch, segments, outputs)
            batch.steps.append(("tasks", event))
        elif isinstance(event, RollbackTransitioned):  # rollback state lives in events only
            key, state = event.key, event.state.value
        rows.append(
            {
                "run_id": run_id,
                "seq": event.seq,
                "type": payload["type"],
                "key": key,
                "state": state,
                "attempt": None,
                "at": event.at,
                "payload": dumps(payload),
            }
        )
    _flush(batch, segments, outputs)
    return batch


def tracked_rows(
    run_id: str, tracked: Sequence[Tracked]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of ``tracked_metrics`` and ``tracked_values``, one per primary key (the last
    value logged wins: PostgreSQL refuses to upsert one row twice in a statement)."""
    metrics: dict[tuple[Any, ...], dict[str, Any]] = {}
    values: dict[tuple[Any, ...], dict[str, Any]] = {}
    for t in tracked:
        if t.kind is TrackKind.METRIC:
            value = t.value if t.value == t.value else None  # NaN is stored as NULL
            metrics[(t.key, t.attempt, t.name, t.step)] = {
                "run_id": run_id,
                "key": t.key,
                "attempt": t.attempt,
                "name": t.name,
                "step": t.step,
                "map_index": t.map_index,
                "value": value,
                "at": t.at,
            }
        else:
            values[(t.key, t.attempt, t.kind.value, t.name)] = {
                "run_id": run_id,
                "key": t.key,
                "attempt": t.attempt,
                "kind": t.kind.value,
                "name": t.name,
                "map_index": t.map_index,
                "value": dumps(t.value),
                "at": t.at,
            }
    return list(metrics.values()), list(values.values())


def _flush(batch: Batch, segments: dict[str, list[_Segment]], outputs: dict[int, str]) -> None:
    """Turn the segments gathered so far into a step of rounds, and start afresh."""
    if not segments:
        return
    rounds: Rounds = []
    for key, key_segments in segments.items():
        for i, segment in enumerate(key_segments):
            if i == len(rounds):
                rounds.append({})
            shape, row = _row(batch.run_id, key, segment, outputs)
            same = rounds[i].get(shape)
            if same is None:
                rounds[i][shape] = [row]
            else:
                same.append(row)
    batch.steps.append(("changes", rounds))
    segments.clear()


def _transition(batch: Batch, event: RunTransitioned) -> None:
    previous = batch.run_state
    reason = event.reason or (previous["reason"] if previous else None)
    batch.run_state = {
        "run_id": batch.run_id,
        "state": event.state.value,
        "reason": reason,
        "ended_at": event.at if event.state.is_terminal else None,
    }


def _output(
    batch: Batch, event: TaskTransitioned, ref: ArtifactRef, outputs: dict[int, str]
) -> None:
    text = outputs[id(ref)] = output_json(ref)
    batch.artifacts.append(
        {
            "checksum": ref.checksum,
            "size": ref.size,
            "serializer": ref.serializer,
            "location": ref.location,
            "inline": ref.inline,
            "meta": dumps(dict(ref.meta)) if ref.meta else "{}",
            "producer": ref.producer,
            "run_id": event.run_id,
            "task_key": event.key,
            "attempt": event.attempt,
            "created_at": event.at,
        }
    )
    if event.state is _SUCCEEDED and event.cache_key is not None and event.cache_hit is None:
        batch.cache.append(
            {
                "key": event.cache_key,
                "checksum": ref.checksum,
                "output": text,
                "run_id": event.run_id,
                "task_key": event.key,
                "created_at": event.at,
            }
        )


class _Segment:
    """The changes of consecutive events of one key and one attempt, composed."""

    __slots__ = ("change", "ord_seq")

    def __init__(self, ord_seq: int, change: Change) -> None:
        self.ord_seq = ord_seq
        self.change = change


def _fold(segments: dict[str, list[_Segment]], event: TaskTransitioned) -> None:
    key_segments = segments.get(event.key)
    if key_segments is None:
        segments[event.key] = [_Segment(event.seq, change_of(event))]
        return
    segment = key_segments[-1]
    change = segment.change
    if change.attempt != event.attempt:
        # Fenced (or not) by the upsert's WHERE, against the row the segment before leaves.
        key_segments.append(_Segment(event.seq, change_of(event)))
    elif _TAKES_SAME_ATTEMPT[change.state]:
        segment.change = change.then(change_of(event))
    # else: a terminal state is final, in a batch as in the table


def _row(
    run_id: str, key: str, segment: _Segment, outputs: dict[int, str]
) -> tuple[ChangeShape, dict[str, Any]]:
    (
        state,
        attempt,
        reason,
        output,
        hit,
        started_at,
        ended_at,
        ran_for,
        first,
        error,
        cache_key,
        cache_parts,
    ) = segment.change
    # A field the change keeps is not bound (the shape's statement leaves its column alone):
    # its value in the row is None, never KEEP.
    row: dict[str, Any] = {
        "run_id": run_id,
        "key": key,
        "name": key,
        "state": _TEXT[state],
        "attempt": attempt,
        "reason": reason,
        "ord_seq": segment.ord_seq,
        "started_at": None if started_at is KEEP else started_at,
        "first_started_at": first,
        "ended_at": None if ended_at is KEEP else ended_at,
        "ran_for": None if ran_for is KEEP else ran_for,
        "cache_key": None if cache_key is KEEP else cache_key,
        "cache_hit": hit,
        "cache_parts": dumps(dict(cache_parts)) if cache_parts is not KEEP else None,
    }
    if error is KEEP:
        error_mode = ERROR_KEPT
    elif error is None:
        error_mode = ERROR_CLEARED
    else:
        error_mode = ERROR_SET
        row["error_type"] = error.type_name
        row["error_message"] = error.message
        row["error_traceback"] = error.traceback
        row["error_detail"] = dumps({"kind": error.kind.value, "mro": list(error.mro)})
    if output is not None:
        text = outputs.get(id(output))
        row["output"] = text if text is not None else output_json(output)
        row["output_checksum"] = output.checksum
    shape = (
        started_at is not KEEP,
        ended_at is not KEEP,
        first is not None,
        error_mode,
        output is not None,
        cache_key is not KEEP,
        hit is not None,
        cache_parts is not KEEP,
    )
    return shape, row


def log_rows(
    entries: Sequence[LogEntry], size_of: Callable[[str, str, int], int]
) -> list[dict[str, Any]]:
    """The ``logs`` rows of ``entries``, each with its ``end_byte``: the bytes (UTF-8) its
    attempt's output is up to and including it, counted on from ``size_of(run_id, key,
    attempt)``, what the store holds of that attempt before (asked once per attempt)."""
    ends: dict[tuple[str, str, int], int] = {}
    rows = []
    for e in entries:
        ident = (e.run_id, e.key, e.attempt)
        end = ends.get(ident)
        if end is None:
            end = size_of(*ident)
        end += len(e.text.encode())
        ends[ident] = end
        rows.append(
            {
                "run_id": e.run_id,
                "key": e.key,
                "attempt": e.attempt,
                "stream": e.stream,
                "text": e.text,
                "at": e.at,
                "end_byte": end,
            }
        )
    return rows
