"""References to stored task outputs."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from legato.model.jsonable import is_path
from legato.model.slots import slot_init

__all__ = [
    "INLINE_LIMIT",
    "ITEMS",
    "PATHS",
    "SHAPE",
    "ArtifactRef",
    "items_of_ref",
    "paths_of_ref",
    "shared_meta",
    "shape_of",
    "shape_of_ref",
    "with_items",
    "with_paths",
    "with_shape",
]

INLINE_LIMIT = 64 * 1024
"""Serialised outputs up to this many bytes are kept inside the run store (committed with the
task's success, in the same transaction); larger ones go to the artifact store's files or
objects and only their reference is recorded."""


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactRef:
    """Where a task output is, how to read it, and how to check it.

    ``checksum`` is ``xxh3_128:<hex>`` of the serialised bytes: it is verified on every read
    and it is the output's content hash in cache keys. Storage locations are assigned by
    legato (``objects/<hh>/<checksum>.<ext>``), never taken from users.
    """

    checksum: str
    size: int
    serializer: str
    """Name of the serialiser that wrote it (``json``, ``npy``, ``parquet``, ``joblib``,
    ``pickle``)."""
    location: str | None = None
    """Key inside the artifact store; None when the bytes are inline."""
    inline: bytes | None = None
    producer: str = ""
    """``run_id/task_key#attempt`` that produced it, for error messages."""
    meta: Mapping[str, str] = field(default_factory=dict)
    """Serialiser and library versions, dtype/shape and the like."""

    @property
    def digest(self) -> str:
        """The hex part of the checksum."""
        return self.checksum.split(":", 1)[-1]


_SHARED_META: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
_MAX_SHARED_META = 4096


def shared_meta(meta: Mapping[str, str]) -> Mapping[str, str]:
    """``meta``, or an equal mapping made before: the references of one serialiser's outputs
    carry the same few versions, and a run of a million outputs then holds one dict of them,
    not a million (about 180 bytes each). A reference's ``meta`` is never changed in place
    (the notes below copy it), which is what makes sharing it safe. At most
    ``_MAX_SHARED_META`` distinct ones are kept; past that, ``meta`` itself is returned."""
    key = tuple(meta.items())
    found = _SHARED_META.get(key)
    if found is not None:
        return found
    if len(_SHARED_META) < _MAX_SHARED_META:
        _SHARED_META[key] = meta
    return meta


# -- notes in an artifact's meta: what maps and cache keys need without loading it ------


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


ITEMS = "legato.items"
"""Key in ``ArtifactRef.meta`` of a *manifest*: the output of a task that a map consumes is
stored item by item, and what is recorded as its output is the manifest listing the items'
references (legato's own JSON), not the list itself. The value is the number of items."""


def with_items(manifest: ArtifactRef, count: int) -> ArtifactRef:
    """``manifest`` noted as the manifest of ``count`` items (see :data:`ITEMS`)."""
    return replace(manifest, meta={**manifest.meta, ITEMS: str(count)})


def items_of_ref(ref: ArtifactRef) -> int | None:
    """How many items the manifest ``ref`` lists; None when it is not a manifest (or was
    written before manifests were noted)."""
    count = ref.meta.get(ITEMS)
    return int(count) if count is not None else None


PATHS = "legato.paths"
"""Key in ``ArtifactRef.meta`` of the files and folders an output names (a ``Path``, or a list,
tuple or dict holding paths), as absolute paths: the cache keys of the tasks that read the
output cover the content of those files, which the output's own bytes do not."""

_MAX_PATHS = 1024


def with_paths(ref: ArtifactRef, obj: Any) -> ArtifactRef:
    """``ref`` noting the paths ``obj`` names (see :data:`PATHS`)."""
    if is_path(obj):
        found = [obj]
    elif isinstance(obj, list | tuple | dict) and len(obj) <= _MAX_PATHS:
        items = obj.values() if isinstance(obj, dict) else obj
        found = [x for x in items if is_path(x)]
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
