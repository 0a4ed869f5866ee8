"""How a worker turns input values into objects and its result into an output value.

Three data planes, one per situation:

- :class:`LiveData` — no store, same process (inline, threads): objects pass as they are.
- :class:`PickledData` — no store, a worker process: outputs go back pickled.
- :class:`StoredData` — a durable run: every output becomes a checksummed artifact (inline in
  its reference when small); in-process consumers still get the live object without loading
  it. A list that a map consumes is stored item by item, plus a manifest listing the items.
"""

from __future__ import annotations

import pickle
from typing import Any, Protocol

from legato._crash import crash_point
from legato.model.artifacts import ArtifactRef, with_items, with_paths, with_shape
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
            manifest = with_items(
                self.artifacts.put([artifact_to_dict(r) for r in items], producer=producer),
                len(items),
            )
            crash_point("output_written")
            if self.keep_live:
                return StoredItems(items, manifest, obj)
            return StoredItems(items, manifest)
        ref = with_paths(with_shape(self.artifacts.put(obj, producer=producer), obj), obj)
        crash_point("output_written")
        return Stored(ref, obj) if self.keep_live else Stored(ref)


def items_of_manifest(artifacts: ArtifactStore, manifest: ArtifactRef) -> tuple[ArtifactRef, ...]:
    """The item references a split output's manifest lists (legato's own JSON)."""
    return tuple(artifact_from_dict(d) for d in artifacts.get(manifest))


def in_process_data(artifacts: ArtifactStore | None) -> DataPlane:
    """The data plane of an executor running tasks in the orchestrator's process."""
    return StoredData(artifacts, keep_live=True) if artifacts is not None else LiveData()
