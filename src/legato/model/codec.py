"""Events and records as JSON-safe dicts, for storage. Versioned from the start."""

from __future__ import annotations

import binascii
import math
from collections.abc import Mapping
from typing import Any

from legato.model.artifacts import ArtifactRef, shared_meta
from legato.model.cache_options import CacheOptions
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import (
    Event,
    MapExpanded,
    PlannedTask,
    RollbackPlanned,
    RollbackTransitioned,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.jsonable import from_jsonable, to_jsonable
from legato.model.states import RollbackState, RunState, TaskState
from legato.model.tracking import Tracked, TrackKind

__all__ = [
    "EVENT_KINDS",
    "SCHEMA_VERSION",
    "artifact_from_dict",
    "artifact_to_dict",
    "error_from_dict",
    "error_to_dict",
    "event_from_dict",
    "event_to_dict",
    "tracked_from_dict",
    "tracked_to_dict",
]

SCHEMA_VERSION = 3
"""The newest payload layout :func:`event_to_dict` writes; readers accept every version up
to it. Each event is written with the oldest version that holds it, so that a legato which
reads only older versions refuses exactly the events it would misread: version 2 is a
``MapExpanded`` with item keys (read as version 1, its items would be numbered); version 3
a task ``skipped`` (a state older readers do not know)."""

_KEYED_MAP = 2
_SKIPPED = 3
_TASK_STATES = {state.value: state for state in TaskState}
"""A state by its value: a dict lookup, where calling the enum costs a lookup and several
Python frames (once per task event decoded: the append process, reads of the event log)."""


def error_to_dict(error: ErrorInfo) -> dict[str, Any]:
    return {
        "kind": error.kind.value,
        "type": error.type_name,
        "message": error.message,
        "traceback": error.traceback,
        "mro": list(error.mro),
    }


def error_from_dict(d: Mapping[str, Any]) -> ErrorInfo:
    return ErrorInfo(
        kind=ErrorKind(d["kind"]),
        type_name=d["type"],
        message=d["message"],
        traceback=d.get("traceback", ""),
        mro=tuple(d.get("mro", ())),
    )


def artifact_to_dict(ref: ArtifactRef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "checksum": ref.checksum,
        "size": ref.size,
        "serializer": ref.serializer,
        "location": ref.location,
        "producer": ref.producer,
        "meta": dict(ref.meta),
    }
    if ref.inline is not None:
        # binascii is base64's own codec without the module (whose import the append
        # process, which decodes every event, would pay for at its start).
        out["inline"] = binascii.b2a_base64(ref.inline, newline=False).decode("ascii")
    return out


def artifact_from_dict(d: Mapping[str, Any]) -> ArtifactRef:
    inline = d.get("inline")
    return ArtifactRef(
        checksum=d["checksum"],
        size=d["size"],
        serializer=d["serializer"],
        location=d.get("location"),
        inline=binascii.a2b_base64(inline) if inline is not None else None,
        producer=d.get("producer", ""),
        meta=shared_meta(dict(d.get("meta", {}))),
    )


def tracked_to_dict(t: Tracked) -> dict[str, Any]:
    """A tracked value as JSON-safe data; a metric that is not finite keeps its value in
    ``"float"`` (JSON has no infinity or NaN)."""
    out: dict[str, Any] = {
        "run_id": t.run_id,
        "key": t.key,
        "attempt": t.attempt,
        "kind": t.kind.value,
        "name": t.name,
        "value": t.value,
        "map_index": t.map_index,
        "step": t.step,
        "at": t.at,
    }
    if t.kind is TrackKind.METRIC and not math.isfinite(t.value):
        out["value"] = None
        out["float"] = repr(float(t.value))
    return out


def tracked_from_dict(d: Mapping[str, Any]) -> Tracked:
    """The inverse of :func:`tracked_to_dict`."""
    special = d.get("float")
    return Tracked(
        run_id=d["run_id"],
        key=d["key"],
        attempt=d["attempt"],
        kind=TrackKind(d["kind"]),
        name=d["name"],
        value=float(special) if special is not None else d["value"],
        map_index=d.get("map_index"),
        step=d.get("step", 0),
        at=d.get("at", 0.0),
    )


EVENT_KINDS: Mapping[type[Event], str] = {
    TaskTransitioned: "task",
    MapExpanded: "map",
    RunTransitioned: "run",
    RollbackTransitioned: "rollback",
    RollbackPlanned: "rollback_plan",
    RunStarted: "start",
}
"""Each event class's ``type`` in its payload (which the SQL store also keeps in a column of
its own, to read events of some kinds without decoding the others)."""


def event_to_dict(event: Event) -> dict[str, Any]:
    """``{"v": 1, "type": ..., fields...}``; run id and sequence included."""
    base: dict[str, Any] = {
        "v": 1,
        "run_id": event.run_id,
        "seq": event.seq,
        "at": event.at,
        "type": EVENT_KINDS.get(type(event), ""),
    }
    if isinstance(event, TaskTransitioned):
        base.update(
            key=event.key,
            state=event.state.value,
            attempt=event.attempt,
            reason=event.reason,
        )
        if event.state is TaskState.SKIPPED:
            base["v"] = _SKIPPED
        if event.error is not None:
            base["error"] = error_to_dict(event.error)
        if event.retry_at is not None:
            base["retry_at"] = event.retry_at
        if event.ran_for is not None:
            base["ran_for"] = event.ran_for
        if event.output is not None:
            base["output"] = artifact_to_dict(event.output)
        if event.cache_key is not None:
            base["cache_key"] = event.cache_key
        if event.cache_hit is not None:
            base["cache_hit"] = event.cache_hit
        if event.cache_parts is not None:
            base["cache_parts"] = dict(event.cache_parts)
    elif isinstance(event, MapExpanded):
        base.update(key=event.key, count=event.count)
        if event.keys:
            base.update(v=_KEYED_MAP, keys=list(event.keys))
    elif isinstance(event, RunTransitioned):
        base.update(state=event.state.value, reason=event.reason)
    elif isinstance(event, RollbackTransitioned):
        base.update(
            key=event.key,
            state=event.state.value,
            attempt=event.attempt,
            reason=event.reason,
        )
        if event.error is not None:
            base["error"] = error_to_dict(event.error)
        if event.ran_for is not None:
            base["ran_for"] = event.ran_for
    elif isinstance(event, RollbackPlanned):
        base.update(keys=list(event.keys), reason=event.reason)
    elif isinstance(event, RunStarted):
        base.update(
            pipeline=event.pipeline,
            params=to_jsonable(dict(event.params)),
            tasks=[[t.key, t.name, t.mapped] for t in event.tasks],
            executor=event.executor,
            failure_policy=event.failure_policy,
        )
        # Apart from "tasks", whose triples a version 1 reader unpacks: it ignores this.
        sizes = {t.key: t.items for t in event.tasks if t.items is not None}
        if sizes:
            base["items"] = sizes
        # Written only when they differ from the defaults, which is how events from before
        # they were recorded read: such payloads stay as they were.
        if not event.caching.lookups:
            base["cache"] = False
        refresh = event.caching.refresh
        if refresh is not False:
            base["refresh"] = True if refresh is True else sorted(refresh)
        if event.output is not None:
            base["output"] = event.output
    else:
        raise TypeError(f"cannot encode {type(event).__name__}")
    return base


def _caching(d: Mapping[str, Any]) -> CacheOptions:
    refresh = d.get("refresh", False)
    return CacheOptions(
        lookups=d.get("cache", True),
        refresh=refresh if isinstance(refresh, bool) else frozenset(refresh),
    )


def event_from_dict(d: Mapping[str, Any]) -> Event:
    """The inverse of :func:`event_to_dict`."""
    version = d.get("v", 1)
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"event written by a newer legato (payload version {version}); upgrade legato"
        )
    common = {"run_id": d["run_id"], "seq": d["seq"], "at": d["at"]}
    kind = d["type"]
    if kind == "task":
        error = d.get("error")
        output = d.get("output")
        return TaskTransitioned(
            **common,
            key=d["key"],
            state=_TASK_STATES.get(d["state"]) or TaskState(d["state"]),
            attempt=d["attempt"],
            reason=d.get("reason", ""),
            error=error_from_dict(error) if error else None,
            retry_at=d.get("retry_at"),
            ran_for=d.get("ran_for"),
            output=artifact_from_dict(output) if output else None,
            cache_key=d.get("cache_key"),
            cache_hit=d.get("cache_hit"),
            cache_parts=d.get("cache_parts"),
        )
    if kind == "map":
        return MapExpanded(**common, key=d["key"], count=d["count"], keys=tuple(d.get("keys", ())))
    if kind == "run":
        return RunTransitioned(**common, state=RunState(d["state"]), reason=d.get("reason", ""))
    if kind == "rollback":
        error = d.get("error")
        return RollbackTransitioned(
            **common,
            key=d["key"],
            state=RollbackState(d["state"]),
            attempt=d["attempt"],
            reason=d.get("reason", ""),
            error=error_from_dict(error) if error else None,
            ran_for=d.get("ran_for"),
        )
    if kind == "rollback_plan":
        return RollbackPlanned(**common, keys=tuple(d["keys"]), reason=d.get("reason", ""))
    if kind == "start":
        sizes = d.get("items", {})
        return RunStarted(
            **common,
            pipeline=d["pipeline"],
            params=from_jsonable(d.get("params", {})),
            tasks=tuple(
                PlannedTask(key=k, name=n, mapped=m, items=sizes.get(k))
                for k, n, m in d.get("tasks", ())
            ),
            executor=d.get("executor", ""),
            failure_policy=d.get("failure_policy", ""),
            caching=_caching(d),
            output=d.get("output"),
        )
    raise ValueError(f"unknown event type {kind!r}")
