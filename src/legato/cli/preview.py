"""A look at a stored value without loading anything that could run code.

A pickle (``pickle``, ``joblib``) runs whatever its author put in it when it is loaded, and
anyone who can write the artifact store can write one: a command that only reads never
loads one. What it shows instead:

- ``json``: the value itself, read in full (checked against its checksum) up to
  :data:`JSON_LIMIT`; the start of its text beyond that;
- ``npy``: dtype and shape, read from the ``.npy`` header (a literal dict, read with
  ``ast.literal_eval``);
- ``parquet``: the columns and their types from the file's footer (with pyarrow; without
  it, the row and column counts recorded when it was written);
- anything else: the serialiser, the type recorded when it was written, and the size.

Headers and footers are read as they are, not checked against the checksum (that would
read everything): ``legato artifacts get`` checks.
"""

from __future__ import annotations

import ast
import importlib
import json
import reprlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from legato.cli.formats import size
from legato.errors import LegatoError
from legato.model.artifacts import ArtifactRef
from legato.store.artifacts import FsspecArtifactStore, check_location
from legato.store.base import ArtifactStore
from legato.store.hashing import checksum_bytes

__all__ = [
    "JSON_LIMIT",
    "Described",
    "Loaded",
    "look",
    "npy_header",
    "open_stored",
    "short_repr",
]

JSON_LIMIT = 1024 * 1024
"""JSON artifacts up to this size are read and shown as values."""

_JSON_HEAD = 80
"""Characters of a larger JSON artifact's text shown."""

_NPY_HEADER_LIMIT = 64 * 1024
"""A longer ``.npy`` header is not read (numpy writes a few hundred bytes)."""

_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True, slots=True)
class Loaded:
    """A stored JSON value, read in full."""

    value: Any


@dataclass(frozen=True, slots=True)
class Described:
    """What a stored value is, when its value is not shown."""

    text: str


def look(artifacts: ArtifactStore, ref: ArtifactRef) -> Loaded | Described:
    """The value of ``ref`` when it is JSON small enough, else what it is (see the
    module)."""
    try:
        check_location(ref)  # a location legato assigned, not a path someone wrote in
        if ref.serializer == "json":
            return _json(artifacts, ref)
        if ref.serializer == "npy":
            return Described(_npy(artifacts, ref))
        if ref.serializer == "parquet":
            return Described(_parquet(artifacts, ref))
    except (LegatoError, OSError, ValueError) as exc:
        return Described(f"{ref.serializer}, {size(ref.size)}, unreadable: {exc}")
    kind = ref.meta.get("type")
    return Described(f"{ref.serializer} {kind}, {size(ref.size)}" if kind else _plain(ref))


def short_repr(value: Any, limit: int = 200) -> str:
    """``repr(value)`` with long strings, lists and dicts cut (``...``), at most ``limit``
    characters."""
    shortener = reprlib.Repr()
    shortener.maxlevel = 4
    shortener.maxstring = shortener.maxother = 80
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = 12
    text = shortener.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def npy_header(head: bytes) -> tuple[Any, tuple[int, ...]] | None:
    """The ``descr`` (dtype) and shape that a ``.npy`` file starting with ``head`` declares;
    None when ``head`` is not the start of one."""
    if not head.startswith(_NPY_MAGIC) or len(head) < 10:
        return None
    major = head[6]
    if major == 1:
        (length,), start = struct.unpack("<H", head[8:10]), 10
    elif major in (2, 3) and len(head) >= 12:
        (length,), start = struct.unpack("<I", head[8:12]), 12
    else:
        return None
    if length > _NPY_HEADER_LIMIT or len(head) < start + length:
        return None
    try:
        header = ast.literal_eval(head[start : start + length].decode("latin-1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("shape"), tuple):
        return None
    return header.get("descr"), header["shape"]


def open_stored(artifacts: ArtifactStore, location: str) -> BinaryIO:
    """The stored file at ``location`` inside the artifact store, opened for reading."""
    root = artifacts.local_root if isinstance(artifacts, FsspecArtifactStore) else None
    if root is not None:
        return open(Path(root) / location, "rb")
    fsspec = importlib.import_module("fsspec")  # remote stores only
    options = artifacts.storage_options if isinstance(artifacts, FsspecArtifactStore) else {}
    opened = fsspec.open(f"{artifacts.url.rstrip('/')}/{location}", "rb", **options)
    return opened.open()  # type: ignore[no-any-return]


def _head(artifacts: ArtifactStore, ref: ArtifactRef, count: int) -> bytes:
    """The first ``count`` bytes of the stored value."""
    if ref.inline is not None:
        return ref.inline[:count]
    assert ref.location is not None
    with open_stored(artifacts, ref.location) as source:
        return source.read(count)


def _json(artifacts: ArtifactStore, ref: ArtifactRef) -> Loaded | Described:
    if ref.size > JSON_LIMIT:
        text = _head(artifacts, ref, _JSON_HEAD * 4).decode("utf-8", "replace")[:_JSON_HEAD]
        return Described(f"{text}… (json, {size(ref.size)})")
    data = _head(artifacts, ref, ref.size + 1)
    if len(data) != ref.size or checksum_bytes(data) != ref.checksum:
        return Described(f"json, {size(ref.size)}, does not match its checksum (altered)")
    return Loaded(json.loads(data.decode("utf-8", "surrogatepass")))


def _npy(artifacts: ArtifactStore, ref: ArtifactRef) -> str:
    found = npy_header(_head(artifacts, ref, _NPY_HEADER_LIMIT + 12))
    if found is None:
        return f"npy, {size(ref.size)}, not a .npy header"
    descr, shape = found
    return f"npy {_dtype(descr)} {shape}, {size(ref.size)}"


def _dtype(descr: Any) -> str:
    """numpy's name for ``descr`` (``float32``) when numpy is installed, else as written
    (``<f4``). A dtype is built from literals: nothing is loaded."""
    try:
        numpy = importlib.import_module("numpy")
        return str(numpy.dtype(descr))
    except (ImportError, TypeError, ValueError):
        return str(descr)


def _parquet(artifacts: ArtifactStore, ref: ArtifactRef) -> str:
    rows = ref.meta.get("rows")
    counted = f"{rows} rows" if rows is not None else size(ref.size)
    try:
        parquet = importlib.import_module("pyarrow.parquet")
        pyarrow = importlib.import_module("pyarrow")
    except ImportError:
        columns = ref.meta.get("columns")
        return f"parquet, {counted}" + (f", {columns} columns" if columns else "")
    if ref.inline is not None:
        schema = parquet.read_schema(pyarrow.BufferReader(ref.inline))
    else:
        assert ref.location is not None
        with open_stored(artifacts, ref.location) as source:
            schema = parquet.read_schema(source)
    fields = ", ".join(f"{field.name}: {field.type}" for field in schema)
    return f"parquet, {counted}: {fields}"


def _plain(ref: ArtifactRef) -> str:
    return f"{ref.serializer}, {size(ref.size)}"
