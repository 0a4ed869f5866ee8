"""pandas DataFrames and Arrow tables as Parquet, when the round trip is exact.

Parquet (through pyarrow) does not keep everything: object columns of text come back as
``str`` columns, ``datetime64[s]`` comes back in milliseconds, an index's ``freq`` is lost,
integer categories change type, Arrow ``map`` and ``date64`` types change... The checks below
accept only what was verified to come back equal, with the same dtypes, index and column
labels (``tests/store/test_artifacts_parquet.py`` pins each case); anything else falls
through to the next serialiser (pickle).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from legato.store.artifacts.serializers import (
    UnsupportedValueError,
    WritableFile,
    module_version,
    python_version,
)

__all__ = ["ParquetSerializer", "is_exact_arrow_type", "is_exact_frame"]

_TEMPORAL_UNITS = ("ms", "us", "ns")
"""Parquet has no seconds unit: ``s`` timestamps come back as ``ms``."""


@cache
def _pyarrow_installed() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _pa() -> Any:
    return importlib.import_module("pyarrow")


def _pq() -> Any:
    return importlib.import_module("pyarrow.parquet")


# -- pandas ------------------------------------------------------------------------------------


def _exact_dtype(pd: Any, np: Any, dtype: Any) -> bool:
    if isinstance(dtype, np.dtype):
        if dtype.kind in "biu":
            return bool(dtype.isnative)
        if dtype.kind == "f":
            return bool(dtype.isnative) and dtype.itemsize <= 8
        if dtype.kind == "M":
            return bool(dtype.isnative) and np.datetime_data(dtype)[0] in _TEMPORAL_UNITS
        if dtype.kind == "m":
            return bool(dtype.isnative) and np.datetime_data(dtype)[0] in ("s", *_TEMPORAL_UNITS)
        return False  # object, complex, bytes, unicode, void
    if isinstance(dtype, pd.DatetimeTZDtype):
        return bool(dtype.unit in _TEMPORAL_UNITS)
    if isinstance(dtype, pd.StringDtype):
        return bool(dtype.storage == "pyarrow")
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories.dtype
        return (
            isinstance(categories, pd.StringDtype)
            and categories.storage == "pyarrow"
            and categories.na_value is not pd.NA
        )
    masked = (
        pd.BooleanDtype,
        pd.Int8Dtype,
        pd.Int16Dtype,
        pd.Int32Dtype,
        pd.Int64Dtype,
        pd.UInt8Dtype,
        pd.UInt16Dtype,
        pd.UInt32Dtype,
        pd.UInt64Dtype,
        pd.Float32Dtype,
        pd.Float64Dtype,
    )
    return isinstance(dtype, masked)


def _label(value: Any) -> bool:
    return value is None or type(value) is str


def _exact_index(pd: Any, np: Any, index: Any) -> bool:
    if not all(_label(name) for name in index.names):
        return False
    kind = type(index)
    if kind is pd.RangeIndex:
        return True
    if kind is pd.MultiIndex:
        return all(_exact_dtype(pd, np, level.dtype) for level in index.levels)
    if kind is pd.DatetimeIndex:
        return index.freq is None and _exact_dtype(pd, np, index.dtype)
    if kind in (pd.Index, pd.CategoricalIndex):
        return _exact_dtype(pd, np, index.dtype)
    return False


def is_exact_frame(obj: Any) -> bool:
    """Whether a pandas ``DataFrame`` survives Parquet exactly: unique ``str`` column labels,
    column and index dtypes of the verified kinds, no ``attrs``, default flags."""
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if pd is None or np is None or type(obj) is not pd.DataFrame:
        return False
    if obj.attrs or not obj.flags.allows_duplicate_labels:
        return False
    columns = obj.columns
    # an empty frame's RangeIndex columns would come back as an empty Index
    if type(columns) is not pd.Index or not _label(columns.name) or not columns.is_unique:
        return False
    for label in columns:
        if type(label) is not str or label.startswith("__index_level_"):
            return False
    return all(_exact_dtype(pd, np, d) for d in obj.dtypes) and _exact_index(pd, np, obj.index)


# -- arrow -------------------------------------------------------------------------------------


def is_exact_arrow_type(pa: Any, t: Any) -> bool:
    """Whether an Arrow type survives Parquet exactly (nested types: all their children)."""
    types = pa.types
    if (
        types.is_null(t)
        or types.is_boolean(t)
        or types.is_integer(t)
        or types.is_floating(t)
        or types.is_decimal(t)
        or types.is_string(t)
        or types.is_large_string(t)
        or types.is_string_view(t)
        or types.is_binary(t)
        or types.is_large_binary(t)
        or types.is_binary_view(t)
        or types.is_fixed_size_binary(t)
        or types.is_date32(t)
        or types.is_time64(t)
        or types.is_duration(t)
    ):
        return True
    if types.is_time32(t):
        return bool(t.unit == "ms")
    if types.is_timestamp(t):
        return bool(t.unit in _TEMPORAL_UNITS)
    if types.is_dictionary(t):
        value = t.value_type
        return bool(types.is_string(value) or types.is_large_string(value))
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return is_exact_arrow_type(pa, t.value_type)
    if types.is_struct(t):
        return all(is_exact_arrow_type(pa, t.field(i).type) for i in range(t.num_fields))
    return False  # map, union, date64, extension types, run-end encoded, list views...


def is_exact_table(obj: Any) -> bool:
    """Whether an Arrow ``Table`` survives Parquet exactly: unique column names, every column
    type verified."""
    pa = sys.modules.get("pyarrow")
    if pa is None or type(obj) is not pa.Table:
        return False
    names = obj.schema.names
    if len(set(names)) != len(names):
        return False
    return all(is_exact_arrow_type(pa, field.type) for field in obj.schema)


# -- the serialiser ----------------------------------------------------------------------------


class ParquetSerializer:
    """pandas DataFrames and Arrow tables as Parquet (pyarrow, snappy)."""

    name = "parquet"
    extension = "parquet"
    version = "1"

    def accepts(self, obj: Any) -> bool:
        """Frames and tables whose round trip is exact (pyarrow must be installed)."""
        if "pandas" in sys.modules and is_exact_frame(obj):
            return _pyarrow_installed()
        return "pyarrow" in sys.modules and is_exact_table(obj)

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        """``pyarrow.parquet.write_table``; a frame goes through ``Table.from_pandas``."""
        pa = _pa()
        is_table = type(obj) is pa.Table
        try:
            table = obj if is_table else pa.Table.from_pandas(obj, preserve_index=None)
            _pq().write_table(table, file, use_compliant_nested_type=False)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise UnsupportedValueError(f"Parquet cannot store this value: {e}") from e
        return {
            "kind": "arrow" if is_table else "pandas",
            "rows": str(table.num_rows),
            "columns": str(table.num_columns),
        }

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        """The table (memory-mapped when it is a local file), as a frame if it was one."""
        pa = _pa()
        if isinstance(source, Path):
            parquet = _pq().ParquetFile(str(source), memory_map=True)
        else:
            parquet = _pq().ParquetFile(pa.BufferReader(source))
        table = parquet.read()
        return table.to_pandas() if meta.get("kind") == "pandas" else table

    def versions(self) -> Mapping[str, str]:
        """pyarrow's version, and pandas' when it is imported."""
        out = {"python": python_version()}
        for name in ("pyarrow", "pandas"):
            version = module_version(name)
            if version is not None:
                out[name] = version
        return out
