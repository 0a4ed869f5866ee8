"""A look at a stored value without loading anything that could run code: what the API
shows of an artifact, and the reading the CLI's text previews (``legato.cli.preview``) are
made of.

A pickle (``pickle``, ``joblib``) runs whatever its author put in it when it is loaded, and
anyone who can write the artifact store can write one: nothing that only reads loads one.
What is read instead:

- ``json``: the value itself, read in full and checked against its checksum, up to
  :data:`JSON_LIMIT` bytes; the start of its text beyond that;
- ``npy``: dtype and shape, from the ``.npy`` header (a literal dict, read with
  ``ast.literal_eval``);
- ``parquet``: the columns and their types from the file's footer, and the first rows
  (with pyarrow; without it, the counts recorded when it was written);
- anything else: the serialiser, the type recorded when it was written, and the size.

Every location is checked to be one legato assigned (``check_location``) before anything
is opened: a reference someone wrote by hand cannot point outside the artifact root.
Headers and footers are read as they are, not checked against the checksum (that would read
everything).
"""

from __future__ import annotations

import ast
import importlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from legato.errors import LegatoError
from legato.model.artifacts import ArtifactRef
from legato.query.views import json_value
from legato.store.artifacts import FsspecArtifactStore, check_location
from legato.store.base import ArtifactStore
from legato.store.hashing import checksum_bytes

__all__ = [
    "JSON_HEAD",
    "JSON_LIMIT",
    "NPY_HEADER_LIMIT",
    "PREVIEW_ROWS",
    "Preview",
    "dtype_name",
    "head_of",
    "npy_header",
    "open_stored",
    "parquet_schema",
    "preview",
    "stored_json",
]

JSON_LIMIT = 1024 * 1024
"""JSON artifacts up to this size are read and shown as values."""
JSON_HEAD = 80
"""Characters of a larger JSON artifact's text shown."""
NPY_HEADER_LIMIT = 64 * 1024
"""A longer ``.npy`` header is not read (numpy writes a few hundred bytes)."""
PREVIEW_ROWS = 20
"""Rows of a table a preview shows."""

_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """What a stored value is, as far as it can be told without loading code."""

    serializer: str
    size: int
    type: str | None
    """The value's type as recorded when it was written."""
    value: Any = None
    """A JSON value, read in full (``complete``)."""
    complete: bool = False
    text: str | None = None
    """The start of a JSON text too large to read."""
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    columns: tuple[tuple[str, str], ...] | None = None
    """A table's columns: (name, type)."""
    rows: tuple[dict[str, Any], ...] | None = None
    """A table's first rows."""
    problem: str | None = None
    """Why nothing more is shown (unreadable, altered)."""


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
    if length > NPY_HEADER_LIMIT or len(head) < start + length:
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


def head_of(artifacts: ArtifactStore, ref: ArtifactRef, count: int) -> bytes:
    """The first ``count`` bytes of the stored value (its location checked first)."""
    if ref.inline is not None:
        return ref.inline[:count]
    check_location(ref)
    assert ref.location is not None
    with open_stored(artifacts, ref.location) as source:
        return source.read(count)


def stored_json(artifacts: ArtifactStore, ref: ArtifactRef) -> tuple[bool, Any]:
    """``(True, value)`` for a JSON artifact up to :data:`JSON_LIMIT` bytes that matches
    its checksum; ``(False, the start of its text)`` for a larger one; ``ValueError`` for
    one altered."""
    if ref.size > JSON_LIMIT:
        return False, head_of(artifacts, ref, JSON_HEAD * 4).decode("utf-8", "replace")[:JSON_HEAD]
    data = head_of(artifacts, ref, ref.size + 1)
    if len(data) != ref.size or checksum_bytes(data) != ref.checksum:
        raise ValueError("does not match its checksum (altered)")
    return True, json.loads(data.decode("utf-8", "surrogatepass"))


def dtype_name(descr: Any) -> str:
    """numpy's name for ``descr`` (``float32``) when numpy is installed, else as written
    (``<f4``). A dtype is built from literals: nothing is loaded."""
    try:
        numpy = importlib.import_module("numpy")
        return str(numpy.dtype(descr))
    except (ImportError, TypeError, ValueError):
        return str(descr)


def parquet_schema(
    artifacts: ArtifactStore, ref: ArtifactRef, rows: int = 0
) -> tuple[tuple[tuple[str, str], ...], tuple[dict[str, Any], ...]] | None:
    """A Parquet artifact's columns (name, type) from its footer and its first ``rows``
    rows; None without pyarrow."""
    try:
        parquet = importlib.import_module("pyarrow.parquet")
        pyarrow = importlib.import_module("pyarrow")
    except ImportError:
        return None
    if ref.inline is not None:
        source: Any = pyarrow.BufferReader(ref.inline)
    else:
        check_location(ref)
        assert ref.location is not None
        source = open_stored(artifacts, ref.location)
    try:
        opened = parquet.ParquetFile(source)
        columns = tuple((f.name, str(f.type)) for f in opened.schema_arrow)
        first: tuple[dict[str, Any], ...] = ()
        if rows > 0:
            batch = next(opened.iter_batches(batch_size=rows), None)
            if batch is not None:
                first = tuple(json_value(r) for r in batch.to_pylist())
        return columns, first
    finally:
        if ref.inline is None:
            source.close()


def preview(artifacts: ArtifactStore, ref: ArtifactRef, rows: int = PREVIEW_ROWS) -> Preview:
    """What ``ref`` holds, read without loading anything that could run code."""
    base: dict[str, Any] = {
        "serializer": ref.serializer,
        "size": ref.size,
        "type": ref.meta.get("type"),
    }
    try:
        if ref.serializer == "json":
            complete, found = stored_json(artifacts, ref)
            if complete:
                return Preview(**base, value=json_value(found), complete=True)
            return Preview(**base, text=found)
        if ref.serializer == "npy":
            header = npy_header(head_of(artifacts, ref, NPY_HEADER_LIMIT + 12))
            if header is None:
                return Preview(**base, problem="not a .npy header")
            descr, shape = header
            return Preview(**base, dtype=dtype_name(descr), shape=tuple(shape))
        if ref.serializer == "parquet":
            table = parquet_schema(artifacts, ref, rows)
            if table is None:
                return Preview(**base, problem="pyarrow is not installed: no schema shown")
            return Preview(**base, columns=table[0], rows=table[1])
    except (LegatoError, OSError, ValueError) as exc:
        return Preview(**base, problem=f"unreadable: {exc}")
    return Preview(**base)
