"""How a worker turns input values into objects and its result into an output value.

Three data planes, one per situation:

- :class:`LiveData` — no store, same process (inline, threads): objects pass as they are.
- :class:`PickledData` — no store, a worker process: outputs go back pickled.
- :class:`StoredData` — a durable run: every output becomes a checksummed artifact (inline in
  its reference when small); in-process consumers still get the live object without loading
  it. A list that a map consumes is stored item by item, plus a manifest listing the items.
- :class:`HandedOnData` — a durable run's worker process: as :class:`StoredData`, and the
  last outputs it stored are handed, each once, to a call of the same worker that reads
  them, instead of being loaded (unpickled) again.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Protocol

from legato._crash import crash_point
from legato.model.artifacts import ArtifactRef, with_items, with_paths, with_shape
from legato.model.calls import TaskCall
from legato.model.codec import artifact_from_dict, artifact_to_dict
from legato.model.item_refs import ItemRefs
from legato.model.values import (
    Dict,
    Gathered,
    Given,
    Inline,
    Pickled,
    PickledItems,
    Seq,
    Stored,
    StoredItems,
    Value,
)
from legato.runtime.pickling import dumps_output
from legato.store.base import ArtifactStore

__all__ = [
    "HANDED_ON_BYTES",
    "HANDED_ON_ENTRIES",
    "HANDED_ON_SERIALIZERS",
    "DataPlane",
    "HandedOnData",
    "LiveData",
    "PickledData",
    "StoredData",
    "handed_on_checksums",
    "worth_handing_on",
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
            items = ItemRefs((), producer)

            def stored() -> Iterator[dict[str, Any]]:
                # One item at a time: each stored, kept compact, listed in the manifest.
                put, keep = self.artifacts.put, items.append
                for i, item in enumerate(obj):
                    ref = with_paths(put(item, producer=f"{producer}[{i}]"), item)
                    keep(ref)
                    yield artifact_to_dict(ref)

            manifest = self.artifacts.put_json_list(stored(), producer=producer)
            manifest = with_items(manifest, len(items))
            crash_point("output_written")
            if self.keep_live:
                return StoredItems(items, manifest, obj)
            return StoredItems(items, manifest)
        ref = with_paths(with_shape(self.artifacts.put(obj, producer=producer), obj), obj)
        crash_point("output_written")
        return Stored(ref, obj) if self.keep_live else Stored(ref)


HANDED_ON_SERIALIZERS = frozenset({"pickle", "joblib"})
"""Outputs whose loading is unpickling them (a model, a tuple of arrays): worth keeping.
Arrays (``npy``) load as a memory map of the file, JSON and tables cheaply: not kept."""
HANDED_ON_BYTES = 256 * 2**20
"""What a worker keeps at most, counted by the stored size of its outputs; the oldest goes
first. An output larger than this is never kept."""
HANDED_ON_ENTRIES = 8


def worth_handing_on(ref: ArtifactRef, budget: int = HANDED_ON_BYTES) -> bool:
    """Whether a worker keeps the output ``ref`` stores for its next reader: one that loads
    by unpickling, within the budget. The one rule the worker and the executor's placement
    of calls both follow."""
    return ref.serializer in HANDED_ON_SERIALIZERS and ref.size <= budget


class HandedOnData(StoredData):
    """A worker process's data plane in a durable run: it stores every output as
    :class:`StoredData` does, keeps the last few it stored as objects (see
    :data:`HANDED_ON_SERIALIZERS`, :data:`HANDED_ON_BYTES`), and hands each of them to the
    first call of this worker that reads it, without loading it from the store.

    Each kept object is handed out once and then forgotten, so a consumer gets the object
    its producer returned, as a task on threads does, but never one another consumer (or an
    earlier attempt of the same one, which may have changed it) was given: those load their
    own copy. The processes executor sends a call to the worker that stored its inputs when
    that worker is free (:meth:`ProcessesExecutor._worker_for`). The artifact is written,
    fsynced and checksummed all the same: the object only saves the consumer the load.
    """

    def __init__(self, artifacts: ArtifactStore, *, budget: int = HANDED_ON_BYTES) -> None:
        super().__init__(artifacts, keep_live=False)
        self.budget = budget
        self._kept: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def load(self, value: Value) -> Any:
        if isinstance(value, Stored):
            kept = self._kept.pop(value.ref.checksum, None)
            if kept is not None:
                self._bytes -= kept[1]
                return kept[0]
        return super().load(value)

    def pack(self, call: TaskCall, obj: Any) -> Value:
        value = super().pack(call, obj)
        if isinstance(value, Stored):
            ref = value.ref
            if worth_handing_on(ref, self.budget):
                self._keep(ref.checksum, obj, ref.size)
        return value

    def _keep(self, checksum: str, obj: Any, size: int) -> None:
        old = self._kept.pop(checksum, None)
        if old is not None:
            self._bytes -= old[1]
        self._kept[checksum] = (obj, size)
        self._bytes += size
        while self._bytes > self.budget or len(self._kept) > HANDED_ON_ENTRIES:
            _, (_, dropped) = self._kept.popitem(last=False)
            self._bytes -= dropped


def handed_on_checksums(call: TaskCall) -> list[str]:
    """The checksums of the stored outputs a call reads (in lists, dicts and gathered map
    outputs too) that a worker may have kept: what such a worker could hand the call."""
    found: list[str] = []
    stack: list[Any] = [*call.args, *(arg for _, arg in call.kwargs)]
    while stack:
        node = stack.pop()
        if isinstance(node, Given):
            stack.append(node.value)
        elif isinstance(node, Seq):
            stack.extend(node.items)
        elif isinstance(node, Dict):
            stack.extend(arg for _, arg in node.items)
        elif isinstance(node, Gathered):
            stack.extend(node.items)
        elif isinstance(node, Stored) and worth_handing_on(node.ref):
            found.append(node.ref.checksum)
    return found


def items_of_manifest(artifacts: ArtifactStore, manifest: ArtifactRef) -> ItemRefs:
    """The item references a split output's manifest lists (legato's own JSON)."""
    return ItemRefs((artifact_from_dict(d) for d in artifacts.get(manifest)), manifest.producer)


def in_process_data(artifacts: ArtifactStore | None) -> DataPlane:
    """The data plane of an executor running tasks in the orchestrator's process."""
    return StoredData(artifacts, keep_live=True) if artifacts is not None else LiveData()
