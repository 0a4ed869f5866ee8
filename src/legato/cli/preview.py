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
read everything): ``legato artifacts get`` checks. The reading is
:mod:`legato.query.preview`'s, which the API server shows too; this module words it for a
terminal.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from legato.cli.formats import size
from legato.errors import LegatoError
from legato.model.artifacts import ArtifactRef
from legato.query.preview import (
    JSON_LIMIT,
    NPY_HEADER_LIMIT,
    dtype_name,
    head_of,
    npy_header,
    open_stored,
    parquet_schema,
    stored_json,
)
from legato.store.artifacts import check_location
from legato.store.base import ArtifactStore

__all__ = [
    "JSON_LIMIT",
    "Described",
    "Loaded",
    "look",
    "npy_header",
    "open_stored",
    "short_repr",
]


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


def _json(artifacts: ArtifactStore, ref: ArtifactRef) -> Loaded | Described:
    try:
        complete, found = stored_json(artifacts, ref)
    except ValueError as exc:
        return Described(f"json, {size(ref.size)}, {exc}")
    if not complete:
        return Described(f"{found}… (json, {size(ref.size)})")
    return Loaded(found)


def _npy(artifacts: ArtifactStore, ref: ArtifactRef) -> str:
    found = npy_header(head_of(artifacts, ref, NPY_HEADER_LIMIT + 12))
    if found is None:
        return f"npy, {size(ref.size)}, not a .npy header"
    descr, shape = found
    return f"npy {dtype_name(descr)} {shape}, {size(ref.size)}"


def _parquet(artifacts: ArtifactStore, ref: ArtifactRef) -> str:
    rows = ref.meta.get("rows")
    counted = f"{rows} rows" if rows is not None else size(ref.size)
    table = parquet_schema(artifacts, ref)
    if table is None:
        columns = ref.meta.get("columns")
        return f"parquet, {counted}" + (f", {columns} columns" if columns else "")
    fields = ", ".join(f"{name}: {kind}" for name, kind in table[0])
    return f"parquet, {counted}: {fields}"


def _plain(ref: ArtifactRef) -> str:
    return f"{ref.serializer}, {size(ref.size)}"
