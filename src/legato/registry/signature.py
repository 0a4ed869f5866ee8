"""Model signatures: what inputs a registered model takes, so a server can refuse bad requests.

A signature is a plain JSON dict (stored with the model version)::

    {
        "format": 1,
        "kind": "tensor",                              # or "columns"
        "inputs": [{"name": "input", "dtype": "float64"}],
        "shape": [None, 64],                           # None: any size (the batch)
    }

- ``kind="tensor"``: the model takes one array. ``inputs`` has one entry; ``dtype`` is a
  NumPy dtype name (``float64``, ``float32``, ``int64``, ``bool``, ``str``...); ``shape`` is
  the array's shape with ``None`` for any size (the first dimension is the batch).
- ``kind="columns"``: the model takes a table (a DataFrame). ``inputs`` has one entry per
  column, in order, each with the column's dtype; ``shape`` is ``[None, number of columns]``.
  Its rows are records (``{column: value}``) or lists of the column values in that order.

:func:`infer_signature` builds one from an example input (``X_train[:5]``);
:func:`check_signature` validates one written by hand (a dict with at least ``inputs``);
:func:`check_input` checks a request's data against one.

dtypes fall into families that :func:`check_input` accepts for each other: ``float*`` takes
any number (NaN and infinities included), ``int*``/``uint*`` take integers, ``bool`` takes
booleans, ``str``/``object`` take strings. A number must also fit its dtype: an integer
outside the range of ``int8`` ... ``uint64``, or too large for a float, is refused with its
place, as NumPy could not convert it.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

from legato.errors import ParameterError
from legato.secret_values import mask

__all__ = ["FORMAT", "check_input", "check_signature", "infer_signature"]

FORMAT = 1
"""The version of the signature layout."""

_KINDS = ("tensor", "columns")


class _Short(reprlib.Repr):
    """How a message quotes a value a client sent: a few levels, a few items, never all of
    it (``repr`` of a list nested a thousand deep would exhaust the stack). A string is
    masked before it is cut (:func:`legato.secret_values.mask`): the message is masked as a
    whole later, and a secret cut in two would no longer match."""

    def __init__(self) -> None:
        super().__init__()  # its keyword arguments are Python 3.12's
        self.maxlevel, self.maxlist, self.maxdict = 2, 4, 4
        self.maxstring = self.maxlong = self.maxother = 40

    def repr_str(self, x: str, level: int) -> str:
        return super().repr_str(mask(x), level)


_SHORT = _Short()


def infer_signature(example: Any) -> dict[str, Any]:
    """The signature of inputs like ``example``: a NumPy array (or anything NumPy turns
    into one: nested lists of numbers), a pandas DataFrame, or a dict of column name →
    values."""
    columns = getattr(example, "columns", None)
    dtypes = getattr(example, "dtypes", None)
    if columns is not None and dtypes is not None:  # a DataFrame
        inputs = [
            {"name": str(c), "dtype": _dtype_name(d)} for c, d in zip(columns, dtypes, strict=True)
        ]
        return _build("columns", inputs, [None, len(inputs)])
    if isinstance(example, Mapping):
        inputs = [{"name": str(k), "dtype": _python_dtype(v)} for k, v in example.items()]
        return _build("columns", inputs, [None, len(inputs)])
    shape = getattr(example, "shape", None)
    dtype = getattr(example, "dtype", None)
    if shape is None or dtype is None:
        try:
            import numpy as np  # noqa: PLC0415 (numpy is optional)
        except ImportError:
            raise ParameterError(
                "infer_signature needs NumPy for a list input; pass a dict signature instead"
            ) from None
        array = np.asarray(example)
        shape, dtype = array.shape, array.dtype
    if not shape:
        raise ParameterError(
            "infer_signature takes an example batch (at least one dimension), not a scalar"
        )
    return _build(
        "tensor",
        [{"name": "input", "dtype": _dtype_name(dtype)}],
        [None, *(int(n) for n in shape[1:])],
    )


def check_signature(signature: Mapping[str, Any]) -> dict[str, Any]:
    """``signature`` validated and completed (``format``, ``kind`` and ``shape`` filled in);
    ``ParameterError`` saying what is wrong."""
    if not isinstance(signature, Mapping):
        raise ParameterError(
            f"a model signature is a dict (see legato.registry.signature), not "
            f"{type(signature).__name__}; infer one with legato.infer_signature(X_sample)"
        )
    unknown = set(signature) - {"format", "kind", "inputs", "shape", "outputs"}
    if unknown:
        raise ParameterError(f"a model signature has no key(s) {sorted(unknown)}")
    fmt = signature.get("format", FORMAT)
    if fmt != FORMAT:
        raise ParameterError(f"model signature format {fmt!r} is not known (expected {FORMAT})")
    raw_inputs = signature.get("inputs")
    if not isinstance(raw_inputs, Sequence) or isinstance(raw_inputs, str) or not raw_inputs:
        raise ParameterError(
            "a model signature needs 'inputs': a non-empty list of {'name': ..., 'dtype': ...}"
        )
    inputs = []
    for item in raw_inputs:
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("dtype"), str)
            or not item["name"]
            or not item["dtype"]
        ):
            raise ParameterError(
                f"signature input {item!r} must be a dict with a non-empty 'name' and 'dtype'"
            )
        inputs.append({"name": item["name"], "dtype": item["dtype"]})
    if len({i["name"] for i in inputs}) != len(inputs):
        raise ParameterError("signature inputs must have distinct names")
    kind = signature.get("kind", "tensor" if len(inputs) == 1 else "columns")
    if kind not in _KINDS:
        raise ParameterError(f"signature kind {kind!r} must be one of {', '.join(_KINDS)}")
    if kind == "tensor" and len(inputs) != 1:
        raise ParameterError("a 'tensor' signature has exactly one input")
    default_shape: list[int | None] = [None] if kind == "tensor" else [None, len(inputs)]
    shape = signature.get("shape", default_shape)
    if (
        not isinstance(shape, Sequence)
        or isinstance(shape, str)
        or not shape
        or any(
            not (d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0))
            for d in shape
        )
    ):
        raise ParameterError(
            f"signature shape {shape!r} must be a list of sizes (whole numbers, or None for "
            "any size)"
        )
    if kind == "columns" and list(shape)[1:] not in ([len(inputs)], [None]):
        raise ParameterError(
            f"a 'columns' signature with {len(inputs)} inputs has shape [None, {len(inputs)}]"
        )
    out = _build(kind, inputs, list(shape))
    if "outputs" in signature:
        out["outputs"] = signature["outputs"]
    return out


def check_input(signature: Mapping[str, Any], data: Any) -> None:
    """Raise ``ParameterError`` naming the place (``input[0][2]``, ``record 0, column
    'age'``) unless ``data`` fits ``signature``: for a tensor, nested lists (or an array)
    whose shape matches and whose values fit the dtype; for columns, a list of rows (records,
    or lists of the column values in the signature's order) or a dict of columns, with every
    input column present."""
    sig = check_signature(signature)
    if sig["kind"] == "columns":
        _check_columns(sig, data)
        return
    dtype = sig["inputs"][0]["dtype"]
    tolist = getattr(data, "tolist", None)
    if callable(tolist):
        data = tolist()
    _check_nested(data, list(sig["shape"]), dtype, "input")


def _check_columns(sig: Mapping[str, Any], data: Any) -> None:
    if isinstance(data, Mapping):
        columns = {str(k): v for k, v in data.items()}
        for spec in sig["inputs"]:
            name, dtype = spec["name"], spec["dtype"]
            if name not in columns:
                raise ParameterError(f"input has no column {name!r}")
            values = columns[name]
            if not isinstance(values, Sequence) or isinstance(values, str):
                values = [values]
            for i, value in enumerate(values):
                _check_value(value, dtype, f"column {name!r}, row {i}")
        return
    if not isinstance(data, Sequence) or isinstance(data, str):
        raise ParameterError(
            "input must be a list of rows (records {column: value}, or lists of the column "
            "values in order) or a dict of columns"
        )
    names = [spec["name"] for spec in sig["inputs"]]
    for i, row in enumerate(data):
        if isinstance(row, Mapping):
            for spec in sig["inputs"]:
                if spec["name"] not in row:
                    raise ParameterError(f"record {i} has no column {spec['name']!r}")
                _check_value(
                    row[spec["name"]], spec["dtype"], f"record {i}, column {spec['name']!r}"
                )
        elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
            if len(row) != len(names):
                raise ParameterError(
                    f"row {i} has {len(row)} values, the model takes {len(names)} columns "
                    f"({', '.join(names)})"
                )
            for spec, value in zip(sig["inputs"], row, strict=True):
                _check_value(value, spec["dtype"], f"row {i}, column {spec['name']!r}")
        else:
            raise ParameterError(
                f"row {i} is {_shown(row)}: send a record {{column: value}} or a list of the "
                f"{len(names)} column values in order ({', '.join(names)})"
            )


def _check_nested(data: Any, shape: list[int | None], dtype: str, where: str) -> None:
    if not shape:
        _check_value(data, dtype, where)
        return
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise ParameterError(f"{where} must be a list ({len(shape)} more dimension(s) expected)")
    size = shape[0]
    if size is not None and len(data) != size:
        raise ParameterError(f"{where} has {len(data)} items, the model takes {size}")
    for i, item in enumerate(data):
        _check_nested(item, shape[1:], dtype, f"{where}[{i}]")


def _family(dtype: str) -> str:
    if dtype.startswith(("float", "complex")):
        return "float"
    if dtype.startswith(("int", "uint")):
        return "int"
    if dtype == "bool":
        return "bool"
    return "str" if dtype in ("str", "object", "string") or dtype.startswith("<U") else "any"


def _check_value(value: Any, dtype: str, where: str) -> None:
    family = _family(dtype)
    ok = True
    if family == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif family == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif family == "bool":
        ok = isinstance(value, bool)
    elif family == "str":
        ok = isinstance(value, str)
    if not ok:
        raise ParameterError(f"{where} is {_shown(value)}, the model takes {dtype}")
    if family == "int":
        low, high = _int_range(dtype)
        if not low <= value <= high:
            raise ParameterError(
                f"{where} is {_shown(value)}, outside the range of {dtype} ({low} to {high})"
            )
    elif family == "float" and isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            raise ParameterError(f"{where} is {_shown(value)}, too large for {dtype}") from None


def _int_range(dtype: str) -> tuple[int, int]:
    """The values an ``int*``/``uint*`` dtype holds (64 bits when the name has no width)."""
    digits = "".join(c for c in dtype if c.isdigit())
    bits = int(digits) if digits in ("8", "16", "32", "64") else 64
    if dtype.startswith("uint"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _shown(value: Any) -> str:
    """``value`` for a message: short, whatever a client sent (an integer of thousands of
    digits is described, not printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    return _SHORT.repr(value)


def _dtype_name(dtype: Any) -> str:
    name = str(getattr(dtype, "name", dtype))
    return "str" if name.startswith("<U") else name


def _python_dtype(values: Any) -> str:
    first = values[0] if isinstance(values, Sequence) and not isinstance(values, str) else values
    if isinstance(first, bool):
        return "bool"
    if isinstance(first, int):
        return "int64"
    if isinstance(first, float):
        return "float64"
    return "str" if isinstance(first, str) else "object"


def _build(kind: str, inputs: list[dict[str, str]], shape: list[int | None]) -> dict[str, Any]:
    return {"format": FORMAT, "kind": kind, "inputs": inputs, "shape": shape}
