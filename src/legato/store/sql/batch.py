"""One append turned into table rows, in plain Python (no SQL here).

The task projection is updated with one conditional upsert per *segment*: the consecutive
events of one task key that name the same attempt, merged into the change they make
together. A key's segments are upserted in order (round 1 holds every key's first segment,
round 2 the second ones...), and the upsert's ``WHERE`` applies the two rules — a terminal row
changes only for a newer attempt; a change naming an older attempt is ignored — against the row
as the previous segment left it. Within a segment every event names the same attempt, so none
is stale against another, and events after a terminal one are dropped here: the result is
exactly that of applying the events one by one, as the in-memory store does.

Planned tasks (``RunStarted``) and map items (``MapExpanded``) create rows; such an event
closes the changes gathered before it, so the projection sees creations and changes in the
order of the events (``Batch.steps``).

A segment has a *shape*: which fields it sets, leaves alone or clears. Each shape gets its own
statement (:meth:`~legato.store.sql.statements.AppendStatements.change`) that binds only
what the shape sets and writes NULLs as constants: a typical change binds 9 to 12 values
instead of 27, which halves SQLite's cost per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from legato.model.artifacts import ArtifactRef
from legato.model.codec import artifact_to_dict, event_to_dict
from legato.model.errors import ErrorInfo
from legato.model.events import (
    Event,
    MapExpanded,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.states import TASK_TERMINAL, TaskState
from legato.model.tracking import Tracked, TrackKind

__all__ = ["Batch", "ChangeShape", "dumps", "output_json", "plan_batch", "tracked_rows"]


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
"""What a segment does to a projection row: sets ``started_at``; sets ``ended_at`` and
``ran_for``; has a ``first_started_at``; error 0 kept, 1 cleared, 2 set; has an output; sets
``cache_key``; has a ``cache_hit``; sets ``cache_parts``."""

Rounds = list[dict[ChangeShape, list[dict[str, Any]]]]
"""Projection changes: rounds in order (round *n* holds each key's *n*-th segment); in each,
the rows of each shape."""

ERROR_KEPT, ERROR_CLEARED, ERROR_SET = 0, 1, 2

_RUNNING = TaskState.RUNNING
_RETRY_WAIT = TaskState.RETRY_WAIT
_SUCCEEDED = TaskState.SUCCEEDED
_TERMINAL = TASK_TERMINAL
_ENDS_ATTEMPT = TASK_TERMINAL | {TaskState.RETRY_WAIT}
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
    """Projection writes in event order: ``("tasks", rows)`` of new rows, ``("expand",
    MapExpanded)`` and ``("changes", Rounds)``."""
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


def plan_batch(run_id: str, events: Sequence[Event]) -> Batch:
    """The rows for ``events`` (already checked to continue ``run_id``'s log)."""
    batch = Batch(
        run_id=run_id, first_seq=events[0].seq, last_seq=events[-1].seq, last_at=events[-1].at
    )
    rows = batch.events
    segments: dict[str, list[_Segment]] = {}
    outputs: dict[int, str] = {}
    for event in events:
        payload = event_to_dict(event)
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
            batch.steps.append(("tasks", _planned(run_id, event)))
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


def _planned(run_id: str, event: RunStarted) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "key": t.key,
            "name": t.name,
            "state": TaskState.PENDING.value,
            "attempt": 1,
            "map_index": None,
            "parent": None,
            "mapped": t.mapped,
            "reason": "",
            "ord_seq": event.seq,
            "ord_idx": i,
        }
        for i, t in enumerate(event.tasks)
    ]


def _flush(batch: Batch, segments: dict[str, list[_Segment]], outputs: dict[int, str]) -> None:
    """Turn the segments gathered so far into a step of rounds, and start afresh."""
    if not segments:
        return
    rounds: Rounds = []
    for key_segments in segments.values():
        for i, segment in enumerate(key_segments):
            if i == len(rounds):
                rounds.append({})
            shape, row = segment.row(batch.run_id, outputs)
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
    """The net change of consecutive events of one key and one attempt."""

    __slots__ = (
        "attempt",
        "cache_hit",
        "cache_key",
        "cache_parts",
        "ended_at",
        "ended_set",
        "error",
        "error_mode",
        "first_started_at",
        "key",
        "ord_seq",
        "output",
        "ran_for",
        "reason",
        "started_at",
        "state",
        "terminal",
    )

    def __init__(self, event: TaskTransitioned) -> None:
        self.key = event.key
        self.attempt = event.attempt
        self.ord_seq = event.seq
        self.terminal = False
        self.ended_set = False
        self.error_mode = ERROR_KEPT
        self.started_at: float | None = None
        self.first_started_at: float | None = None
        self.ended_at: float | None = None
        self.ran_for: float | None = None
        self.error: ErrorInfo | None = None
        self.cache_key: str | None = None
        self.cache_parts: Mapping[str, str] | None = None
        self.state = event.state
        self.reason = event.reason
        self.output = event.output
        self.cache_hit = event.cache_hit

    def add(self, event: TaskTransitioned) -> None:
        # The reducer's fold (legato.engine.reducer._task), recording what it touches.
        state = event.state
        self.state = state
        self.reason = event.reason
        self.output = event.output
        self.cache_hit = event.cache_hit
        if state is _RUNNING:
            self.ended_set = True
            self.started_at = event.at
            self.ended_at = self.ran_for = None
            if self.first_started_at is None:
                self.first_started_at = event.at
        elif state in _ENDS_ATTEMPT:
            self.ended_set = True
            self.ended_at = event.at
            self.ran_for = event.ran_for
        if event.error is not None:
            self.error, self.error_mode = event.error, ERROR_SET
        elif state is not _RETRY_WAIT:
            self.error, self.error_mode = None, ERROR_CLEARED
        if event.cache_key is not None:
            self.cache_key = event.cache_key
        if event.cache_parts is not None:
            self.cache_parts = event.cache_parts
        if state in _TERMINAL:
            self.terminal = True

    def row(self, run_id: str, outputs: dict[int, str]) -> tuple[ChangeShape, dict[str, Any]]:
        row: dict[str, Any] = {
            "run_id": run_id,
            "key": self.key,
            "name": self.key,
            "state": _TEXT[self.state],
            "attempt": self.attempt,
            "reason": self.reason,
            "ord_seq": self.ord_seq,
            "started_at": self.started_at,
            "first_started_at": self.first_started_at,
            "ended_at": self.ended_at,
            "ran_for": self.ran_for,
            "cache_key": self.cache_key,
            "cache_hit": self.cache_hit,
            "cache_parts": dumps(dict(self.cache_parts)) if self.cache_parts is not None else None,
        }
        error = self.error
        if error is not None:
            row["error_type"] = error.type_name
            row["error_message"] = error.message
            row["error_traceback"] = error.traceback
            row["error_detail"] = dumps({"kind": error.kind.value, "mro": list(error.mro)})
        output = self.output
        if output is not None:
            text = outputs.get(id(output))
            row["output"] = text if text is not None else output_json(output)
            row["output_checksum"] = output.checksum
        shape = (
            self.started_at is not None,
            self.ended_set,
            self.first_started_at is not None,
            self.error_mode,
            output is not None,
            self.cache_key is not None,
            self.cache_hit is not None,
            self.cache_parts is not None,
        )
        return shape, row


def _fold(segments: dict[str, list[_Segment]], event: TaskTransitioned) -> None:
    key_segments = segments.get(event.key)
    if key_segments is None:
        segment = _Segment(event)
        segments[event.key] = [segment]
    else:
        segment = key_segments[-1]
        if segment.attempt != event.attempt:
            segment = _Segment(event)
            key_segments.append(segment)
        elif segment.terminal:
            return  # a terminal state is final, in a batch as in the table
    segment.add(event)
