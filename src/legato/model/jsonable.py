"""Run parameters as JSON, keeping the types a pipeline signature may use: paths, dates,
times and enum members travel as small tagged objects and come back as themselves."""

from __future__ import annotations

import datetime as dt
import importlib
import math
import sys
from enum import Enum
from typing import Any

__all__ = ["from_jsonable", "is_path", "to_jsonable"]

_TAG = "__legato__"


def is_path(value: Any) -> bool:
    """Whether ``value`` is a :mod:`pathlib` path, without importing pathlib.

    No value can be a path before pathlib is imported, and importing it (with the
    ``urllib.parse`` and ``ipaddress`` it pulls in) would be a tenth of the start of a
    process that decodes events and never sees a path unless a run has one: the store's
    append process (``legato.store.sql.offload_child``).
    """
    pathlib = sys.modules.get("pathlib")
    return pathlib is not None and isinstance(value, pathlib.PurePath)


def to_jsonable(value: Any) -> Any:
    """A JSON-safe form of a storable value (see ``legato.define.params``)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {_TAG: "float", "value": repr(value)}
    if isinstance(value, Enum):
        cls = type(value)
        return {_TAG: "enum", "type": f"{cls.__module__}:{cls.__qualname__}", "name": value.name}
    if is_path(value):
        return {_TAG: "path", "value": str(value)}
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "value": value.isoformat()}
    if isinstance(value, tuple):
        return {_TAG: "tuple", "value": [to_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__qualname__} is not storable as a run parameter")


def from_jsonable(value: Any) -> Any:
    """The inverse of :func:`to_jsonable`."""
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: from_jsonable(v) for k, v in value.items()}
    raw: Any = value.get("value")
    if tag == "float":
        return float(raw)
    if tag == "path":
        # Imported here, not at the top: see is_path.
        from pathlib import Path  # noqa: PLC0415 (see is_path)

        return Path(raw)
    if tag == "datetime":
        return dt.datetime.fromisoformat(raw)
    if tag == "date":
        return dt.date.fromisoformat(raw)
    if tag == "time":
        return dt.time.fromisoformat(raw)
    if tag == "tuple":
        return tuple(from_jsonable(v) for v in raw)
    if tag == "enum":
        module, _, qualname = value["type"].partition(":")
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj[value["name"]]
    raise ValueError(f"unknown tagged value {tag!r}")
