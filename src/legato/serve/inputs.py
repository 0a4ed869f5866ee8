"""A prediction request, read, checked and converted before the model sees it.

The body is JSON, one of::

    [[0.0, 1.5, ...], ...]                       rows (a bare list)
    {"inputs": [[0.0, 1.5, ...], ...]}           rows of a tensor model
    {"rows": [{"age": 3, "city": "x"}, ...]}     records of a columns model
    {"columns": {"age": [3, 4], "city": ["x", "y"]}}

(a columns model also takes rows as lists of the column values, in its signature's order).

:func:`model_input` is **the** path from a body to what the model's ``predict`` is given:
``legato serve`` takes it for every request, and ``SmokeTest`` takes it in-process, so a
smoke test sees exactly what the server would do. Everything a client can get wrong raises
:class:`RequestError` with the HTTP status to answer (400: not JSON; 413: too large; 422:
does not fit the model's signature, naming the place), never anything that would become a
500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from legato.errors import ParameterError
from legato.registry.signature import check_input, check_signature

__all__ = [
    "MAX_BODY",
    "MAX_ROWS",
    "Batch",
    "RequestError",
    "check_batch",
    "model_input",
    "parse_body",
    "read_batch",
    "to_model_input",
]

MAX_BODY = 16 * 1024 * 1024
"""Bytes of request body accepted by default (413 beyond)."""
MAX_ROWS = 100_000
"""Rows accepted in one request by default (413 beyond)."""


def model_input(body: bytes, signature: Mapping[str, Any] | None, *, max_rows: int) -> Any:
    """What ``predict`` is given for the request ``body``: parsed (400), laid out as rows or
    columns (413, 422), checked against ``signature`` (422) and converted
    (:func:`to_model_input`). Raises :class:`RequestError` only."""
    batch = read_batch(parse_body(body), max_rows=max_rows)
    check_batch(batch, signature)
    return to_model_input(batch, signature)


class RequestError(Exception):
    """A request the server refuses: ``status`` and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Batch:
    """A checked request: rows (lists or records) or columns, and how many rows."""

    rows: list[Any] | None
    columns: dict[str, list[Any]] | None
    size: int


def parse_body(body: bytes) -> Any:
    """The JSON value of ``body`` (400 when it is not JSON)."""
    if not body.strip():
        raise RequestError(400, "the request has no body: send JSON rows or columns")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RequestError(400, f"the body is not valid JSON: {exc}") from None


def read_batch(payload: Any, *, max_rows: int) -> Batch:
    """The rows or columns of a parsed body (422 when its layout is not one of the four)."""
    if isinstance(payload, list):
        return _rows(payload, max_rows)
    if not isinstance(payload, Mapping):
        raise RequestError(
            422,
            'send a JSON list of rows, or {"inputs": rows}, {"rows": records} or '
            '{"columns": {name: values}}',
        )
    given = [k for k in ("inputs", "rows", "columns") if k in payload]
    if len(given) != 1:
        raise RequestError(422, 'send exactly one of "inputs", "rows" or "columns"')
    key = given[0]
    value = payload[key]
    if key != "columns":
        if not isinstance(value, list):
            raise RequestError(422, f'"{key}" must be a list of rows')
        return _rows(value, max_rows)
    if not isinstance(value, Mapping) or not value:
        raise RequestError(422, '"columns" must be an object of column name -> list of values')
    columns: dict[str, list[Any]] = {}
    for name, values in value.items():
        if not isinstance(values, list):
            raise RequestError(422, f"column {name!r} must be a list of values")
        columns[str(name)] = values
    sizes = {len(v) for v in columns.values()}
    if len(sizes) != 1:
        raise RequestError(422, f"columns have different lengths: {sorted(sizes)}")
    (size,) = sizes
    _check_size(size, max_rows)
    return Batch(rows=None, columns=columns, size=size)


def _rows(rows: list[Any], max_rows: int) -> Batch:
    _check_size(len(rows), max_rows)
    return Batch(rows=rows, columns=None, size=len(rows))


def _check_size(size: int, max_rows: int) -> None:
    if size == 0:
        raise RequestError(422, "the request has no rows")
    if size > max_rows:
        raise RequestError(413, f"{size} rows is more than this server takes at once ({max_rows})")


def check_batch(batch: Batch, signature: Mapping[str, Any] | None) -> None:
    """422 unless ``batch`` fits ``signature`` (shape, column names, value types); a model
    registered without a signature takes any rows of one length."""
    if signature is None:
        if batch.rows is not None and all(isinstance(r, list) for r in batch.rows):
            lengths = {len(r) for r in batch.rows}
            if len(lengths) > 1:
                raise RequestError(422, f"rows have different lengths: {sorted(lengths)}")
        return
    sig = check_signature(signature)
    data: Any = batch.columns if batch.columns is not None else batch.rows
    if sig["kind"] == "tensor" and batch.rows is None:
        raise RequestError(422, 'this model takes rows of numbers: send {"inputs": [[...], ...]}')
    try:
        check_input(sig, data)
    except ParameterError as exc:
        raise RequestError(422, str(exc)) from None


def to_model_input(batch: Batch, signature: Mapping[str, Any] | None) -> Any:
    """What the model's ``predict`` takes, for a batch :func:`check_batch` accepted.

    - a tensor model: a NumPy array of the signature's dtype;
    - a columns model: a pandas DataFrame of the signature's columns, in its order, each of
      its dtype (from records, rows of values in order, or columns alike);
    - no signature: records or columns as a DataFrame, other rows as a NumPy array when
      NumPy makes one of them, else as they came.

    Without pandas a columns model gets a dict of column name -> values; without NumPy, the
    rows as they came."""
    sig = check_signature(signature) if signature is not None else None
    if sig is not None and sig["kind"] == "columns":
        return _frame(_columns_of(batch, sig), {i["name"]: i["dtype"] for i in sig["inputs"]})
    if sig is None and (batch.columns is not None or _records(batch)):
        return _frame(batch.columns if batch.columns is not None else batch.rows, None)
    try:
        import numpy as np  # noqa: PLC0415 (numpy is optional)
    except ImportError:
        return batch.rows
    dtype = sig["inputs"][0]["dtype"] if sig is not None else None
    try:
        return np.asarray(batch.rows, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RequestError(422, f"the rows do not make an array: {exc}") from None


def _columns_of(batch: Batch, sig: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The signature's columns, in its order, whichever layout the client sent."""
    names = [i["name"] for i in sig["inputs"]]
    if batch.columns is not None:
        return {name: batch.columns[name] for name in names}
    rows = batch.rows or []
    return {
        name: [row[name] if isinstance(row, Mapping) else row[i] for row in rows]
        for i, name in enumerate(names)
    }


def _frame(data: Any, dtypes: dict[str, str] | None) -> Any:
    try:
        import pandas as pd  # type: ignore[import-untyped]  # noqa: PLC0415 (optional)
    except ImportError:
        return data
    try:
        frame = pd.DataFrame(data)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RequestError(422, f"the rows do not make a table: {exc}") from None
    for name, dtype in (dtypes or {}).items():
        try:
            frame[name] = frame[name].astype(dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise RequestError(422, f"column {name!r} does not convert to {dtype}: {exc}") from None
    return frame


def _records(batch: Batch) -> bool:
    return batch.rows is not None and bool(batch.rows) and isinstance(batch.rows[0], Mapping)
