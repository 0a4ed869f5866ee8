"""How a worker turns input values into objects and its result into an output value.

Three data planes, one per situation:

- :class:`LiveData` — no store, same process (inline, threads): objects pass as they are.
- :class:`PickledData` — no store, a worker process: outputs go back pickled.
- :class:`StoredData` — a durable run: every output becomes a checksummed artifact (inline in
  its reference when small); in-process consumers still get the live object without loading
  it. A list that a map consumes is stored item by item, plus a manifest listing the items.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import replace
from pathlib import PurePath
from typing import Any, Protocol

from legato._crash import crash_point
from legato.model.artifacts import ArtifactRef
from legato.model.calls import TaskCall
from legato.model.codec import artifact_from_dict, artifact_to_dict
from legato.model.values import (
    Gathered,
    Inline,
    Pickled,
    PickledItems,
    Stored,
    StoredItems,
    Value,
)
from legato.runtime.pickling import dumps_output
from legato.store.base import ArtifactStore

__all__ = [
    "DataPlane",
    "LiveData",
    "PickledData",
    "StoredData",
    "in_process_data",
    "items_of_manifest",
    "shape_of",
    "shape_of_ref",
    "with_shape",
]


class DataPlane(Protocol):
    """Loads inputs and packs outputs for one kind of worker."""

    def load(self, value: Value) -> Any: ...

    def pack(self, call: TaskCall, obj: Any) -> Value: ...


def _load_common(plane: DataPlane, value: Value) -> Any:
    if isinstance(value, Gathered):
        return [plane.load(item) for item in value.items]
    if isinstance(value, Inline):
        return value.obj
    if isinstance(value, Pickled):
        return pickle.loads(value.data)
    if isinstance(value, PickledItems):
        items = [pickle.loads(item) for item in value.items]
        return tuple(items) if value.as_tuple else items
    raise TypeError(f"a {type(value).__name__} cannot be loaded without an artifact store")


class LiveData:
    """Objects stay objects."""

    def load(self, value: Value) -> Any:
        return _load_common(self, value)

    def pack(self, call: TaskCall, obj: Any) -> Value:
        return Inline(obj)


class PickledData:
    """Outputs leave a worker process pickled; item by item when a map consumes them."""

    def load(self, value: Value) -> Any:
        return _load_common(self, value)

    def pack(self, call: TaskCall, obj: Any) -> Value:
        if call.split_output and isinstance(obj, list):
            return PickledItems(tuple(dumps_output(x) for x in obj), False)
        return Pickled(dumps_output(obj))


class StoredData:
    """Outputs become artifacts; ``keep_live`` keeps the object for in-process consumers."""

    def __init__(self, artifacts: ArtifactStore, *, keep_live: bool) -> None:
        self.artifacts = artifacts
        self.keep_live = keep_live

    def load(self, value: Value) -> Any:
        if isinstance(value, Stored):
            return value.live if value.has_live else self.artifacts.get(value.ref)
        if isinstance(value, StoredItems):
            if value.has_live:
                return value.live
            return [self.artifacts.get(ref) for ref in value.items]
        return _load_common(self, value)

    def pack(self, call: TaskCall, obj: Any) -> Value:
        producer = f"{call.run_id}/{call.key}#{call.attempt}"
        if call.split_output and isinstance(obj, list):
            items = tuple(
                with_paths(self.artifacts.put(item, producer=f"{producer}[{i}]"), item)
                for i, item in enumerate(obj)
            )
            manifest = self.artifacts.put([artifact_to_dict(r) for r in items], producer=producer)
            crash_point("output_written")
            if self.keep_live:
                return StoredItems(items, manifest, obj)
            return StoredItems(items, manifest)
        ref = with_paths(with_shape(self.artifacts.put(obj, producer=producer), obj), obj)
        crash_point("output_written")
        return Stored(ref, obj) if self.keep_live else Stored(ref)


SHAPE = "legato.shape"
"""Key in ``ArtifactRef.meta`` of what maps need to know of an output without loading it."""


def with_shape(ref: ArtifactRef, obj: Any) -> ArtifactRef:
    """``ref`` noting the length of a list output and of its list items."""
    length, items = shape_of(obj)
    if length is None and items is None:
        return ref
    meta = dict(ref.meta)
    meta[SHAPE] = json.dumps([length, list(items) if items is not None else None])
    return replace(ref, meta=meta)


PATHS = "legato.paths"
"""Key in ``ArtifactRef.meta`` of the files and folders an output names (a ``Path``, or a list,
tuple or dict holding paths), as absolute paths: the cache keys of the tasks that read the
output cover the content of those files, which the output's own bytes do not."""

_MAX_PATHS = 1024


def with_paths(ref: ArtifactRef, obj: Any) -> ArtifactRef:
    """``ref`` noting the paths ``obj`` names (see :data:`PATHS`)."""
    if isinstance(obj, PurePath):
        found = [obj]
    elif isinstance(obj, list | tuple | dict) and len(obj) <= _MAX_PATHS:
        items = obj.values() if isinstance(obj, dict) else obj
        found = [x for x in items if isinstance(x, PurePath)]
    else:
        return ref
    if not found:
        return ref
    meta = dict(ref.meta)
    meta[PATHS] = json.dumps([os.path.abspath(p) for p in found])
    return replace(ref, meta=meta)


def paths_of_ref(ref: ArtifactRef) -> list[str]:
    """What :func:`with_paths` noted."""
    text = ref.meta.get(PATHS)
    return list(json.loads(text)) if text else []


def shape_of_ref(ref: ArtifactRef) -> tuple[int | None, tuple[int | None, ...] | None]:
    """What :func:`with_shape` noted."""
    text = ref.meta.get(SHAPE)
    if not text:
        return None, None
    length, items = json.loads(text)
    return length, tuple(items) if items is not None else None


def shape_of(obj: Any) -> tuple[int | None, tuple[int | None, ...] | None]:
    """What a map needs to know of an output without loading it: ``len(obj)`` when it is a
    list, and for a list or tuple of up to 64 items, the length of each item that is a list."""
    if not isinstance(obj, list | tuple):
        return None, None
    length = len(obj) if isinstance(obj, list) else None
    if len(obj) > 64:
        return length, None
    return length, tuple(len(x) if isinstance(x, list) else None for x in obj)


def items_of_manifest(artifacts: ArtifactStore, manifest: ArtifactRef) -> tuple[ArtifactRef, ...]:
    """The item references a split output's manifest lists (legato's own JSON)."""
    return tuple(artifact_from_dict(d) for d in artifacts.get(manifest))


def in_process_data(artifacts: ArtifactStore | None) -> DataPlane:
    """The data plane of an executor running tasks in the orchestrator's process."""
    return StoredData(artifacts, keep_live=True) if artifacts is not None else LiveData()
