"""pandas frames and Arrow tables: Parquet only when the round trip is exact, pickle otherwise.

Each case below was checked against pandas/pyarrow; if a new version changes what Parquet
keeps, the matching case fails here instead of a task silently getting different data.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from legato.store.artifacts import FsspecArtifactStore

pd = pytest.importorskip("pandas", reason="pandas is not installed")
pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed")

PRODUCER = "run-1/features#1"


@pytest.fixture(params=["file", "inline"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FsspecArtifactStore:
    """Read back from a memory-mapped file, and from inline bytes."""
    limit = 0 if request.param == "file" else 1 << 30
    return FsspecArtifactStore(tmp_path, inline_limit=limit)


def assert_same_frame(out: Any, frame: Any) -> None:
    assert type(out) is type(frame)
    pd.testing.assert_frame_equal(
        out,
        frame,
        check_exact=True,
        check_index_type=True,
        check_column_type=True,
        check_frame_type=True,
        check_names=True,
        check_freq=True,
        check_flags=True,
    )
    assert list(out.dtypes) == list(frame.dtypes)
    assert out.attrs == frame.attrs


def _dates(unit: str) -> Any:
    return pd.Series(pd.to_datetime(["2020-01-01 00:00", "2021-06-30 12:00"])).astype(
        f"datetime64[{unit}]"
    )


EXACT_FRAMES: dict[str, Callable[[], Any]] = {
    "numbers, text, missing": lambda: pd.DataFrame(
        {"a": [1, 2, 3], "b": [1.5, None, -0.0], "c": ["x", "y", None]}
    ),
    "small ints and floats": lambda: pd.DataFrame(
        {
            "i8": np.array([1, -2], dtype=np.int8),
            "u64": np.array([2**63 + 1, 0], dtype=np.uint64),
            "f16": np.array([1, 2], dtype=np.float16),
            "f32": np.array([np.nan, np.inf], dtype=np.float32),
            "bool": [True, False],
        }
    ),
    "datetimes ns": lambda: pd.DataFrame({"t": _dates("ns")}),
    "datetimes ms with tz": lambda: pd.DataFrame({"t": _dates("ms").dt.tz_localize("UTC")}),
    "timedeltas s": lambda: pd.DataFrame({"d": pd.Series([1, 2]).astype("timedelta64[s]")}),
    "categories of text": lambda: pd.DataFrame(
        {"c": pd.Categorical(["a", "b", "a"], categories=["b", "a"], ordered=True)}
    ),
    "nullable": lambda: pd.DataFrame(
        {
            "i": pd.array([1, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "f": pd.array([1.5, None], dtype="Float64"),
            "s": pd.array(["a", None], dtype="string[pyarrow]"),
        }
    ),
    "text index": lambda: pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="k")),
    "int index with duplicates": lambda: pd.DataFrame({"a": [1, 2]}, index=[7, 7]),
    "stepped range index": lambda: pd.DataFrame({"a": [1, 2]}, index=pd.RangeIndex(10, 14, 2)),
    "multi index": lambda: pd.DataFrame(
        {"a": [1, 2]},
        index=pd.MultiIndex.from_arrays([["x", "y"], [1, 2]], names=["k", None]),
    ),
    "datetime index without freq": lambda: pd.DataFrame(
        {"a": [1, 2]}, index=pd.DatetimeIndex(_dates("us"))
    ),
    "named columns axis": lambda: pd.DataFrame({"a": [1]}).rename_axis(columns="features"),
    "no rows": lambda: pd.DataFrame({"a": pd.Series([], dtype="int64")}),
}


@pytest.mark.parametrize("make", EXACT_FRAMES.values(), ids=EXACT_FRAMES.keys())
def test_frames_parquet_keeps_exactly_go_to_parquet(
    store: FsspecArtifactStore, make: Callable[[], Any]
) -> None:
    frame = make()
    ref = store.put(frame, producer=PRODUCER)
    assert ref.serializer == "parquet"
    assert ref.meta["kind"] == "pandas"
    assert ref.meta["pyarrow"] == pa.__version__
    assert ref.meta["pandas"] == pd.__version__
    assert_same_frame(store.get(ref), frame)


def _with_attrs() -> Any:
    frame = pd.DataFrame({"a": [1]})
    frame.attrs["source"] = "x"
    return frame


INEXACT_FRAMES: dict[str, Callable[[], Any]] = {
    "int column labels": lambda: pd.DataFrame({0: [1], 1: [2]}),
    "mixed column labels": lambda: pd.DataFrame({"a": [1], 1: [2]}),
    "duplicate column labels": lambda: pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "tuple column labels": lambda: pd.DataFrame({("a", "b"): [1]}),
    "object column of text": lambda: pd.DataFrame({"c": pd.Series(["x", "y"], dtype=object)}),
    "object column of mixed types": lambda: pd.DataFrame(
        {"c": pd.Series(["x", 1, 2.5], dtype=object)}
    ),
    "object column of bytes": lambda: pd.DataFrame({"c": pd.Series([b"x"], dtype=object)}),
    "complex": lambda: pd.DataFrame({"c": np.array([1 + 1j])}),
    "datetimes in seconds": lambda: pd.DataFrame({"t": _dates("s")}),
    "big endian ints": lambda: pd.DataFrame({"a": np.array([1, 2], dtype=">i8")}),
    "int categories": lambda: pd.DataFrame({"c": pd.Categorical([1, 2, 1])}),
    "python strings": lambda: pd.DataFrame({"s": pd.array(["a"], dtype="string[python]")}),
    "periods": lambda: pd.DataFrame({"p": pd.period_range("2020", periods=2, freq="M")}),
    "arrow list dtype": lambda: pd.DataFrame(
        {"a": pd.array([[1], [2]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))}
    ),
    "index with freq": lambda: pd.DataFrame(
        {"a": [1, 2]}, index=pd.date_range("2020", periods=2, freq="D")
    ),
    "object index of text": lambda: pd.DataFrame(
        {"a": [1, 2]}, index=pd.Index(["x", "y"], dtype=object)
    ),
    "int index name": lambda: pd.DataFrame({"a": [1, 2]}, index=pd.Index([3, 4], name=5)),
    "empty frame": pd.DataFrame,
    "attrs": _with_attrs,
    "no duplicate labels flag": lambda: pd.DataFrame({"a": [1]}).set_flags(
        allows_duplicate_labels=False
    ),
    "index level column name": lambda: pd.DataFrame({"__index_level_0__": [1]}),
}


@pytest.mark.parametrize("make", INEXACT_FRAMES.values(), ids=INEXACT_FRAMES.keys())
def test_frames_parquet_would_change_are_pickled_exactly(
    store: FsspecArtifactStore, make: Callable[[], Any]
) -> None:
    frame = make()
    ref = store.put(frame, producer=PRODUCER)
    assert ref.serializer == "pickle"
    assert_same_frame(store.get(ref), frame)


def test_a_frame_subclass_is_pickled(store: FsspecArtifactStore) -> None:
    class Tagged(pd.DataFrame):  # type: ignore[misc]
        pass

    ref = store.put(Tagged({"a": [1]}), producer=PRODUCER)
    assert ref.serializer == "pickle"
    assert type(store.get(ref)) is Tagged


ARROW_EXACT: dict[str, Callable[[], Any]] = {
    "primitives": lambda: pa.table(
        {
            "i8": pa.array([1, None], pa.int8()),
            "u32": pa.array([1, 2], pa.uint32()),
            "half": pa.array(np.array([1, 2], np.float16)),
            "large text": pa.array(["a", "b"], pa.large_string()),
            "bin": pa.array([b"ab", b"cd"], pa.binary(2)),
            "dec": pa.array([decimal.Decimal("1.10"), None], pa.decimal128(5, 2)),
            "null": pa.array([None, None], pa.null()),
        }
    ),
    "temporal": lambda: pa.table(
        {
            "date": pa.array([dt.date(2020, 1, 1), None], pa.date32()),
            "ts": pa.array([1, 2], pa.timestamp("ns", "Europe/Paris")),
            "dur": pa.array([1, 2], pa.duration("s")),
            "t32": pa.array([1, 2], pa.time32("ms")),
            "t64": pa.array([1, 2], pa.time64("ns")),
        }
    ),
    "nested": lambda: pa.table(
        {
            "list": pa.array([[1], [2, 3]]),
            "named list": pa.array([[1]] * 2, pa.list_(pa.field("x", pa.int64()))),
            "struct": pa.array([{"x": [1]}, {"x": None}]),
            "dictionary": pa.array(["a", "b"]).dictionary_encode(),
        }
    ),
    "schema metadata, non-null field": lambda: pa.table(
        {"a": [1]},
        schema=pa.schema([pa.field("a", pa.int64(), nullable=False, metadata={"k": "v"})]),
    ).replace_schema_metadata({"origin": "test"}),
}


@pytest.mark.parametrize("make", ARROW_EXACT.values(), ids=ARROW_EXACT.keys())
def test_arrow_tables_parquet_keeps_go_to_parquet(
    store: FsspecArtifactStore, make: Callable[[], Any]
) -> None:
    table = make()
    ref = store.put(table, producer=PRODUCER)
    assert (ref.serializer, ref.meta["kind"]) == ("parquet", "arrow")
    out = store.get(ref)
    assert type(out) is pa.Table
    assert out.equals(table, check_metadata=True)


ARROW_INEXACT: dict[str, Callable[[], Any]] = {
    "date64": lambda: pa.table({"d": pa.array([dt.date(2020, 1, 1)], pa.date64())}),
    "timestamp seconds": lambda: pa.table({"t": pa.array([1], pa.timestamp("s"))}),
    "time32 seconds": lambda: pa.table({"t": pa.array([1], pa.time32("s"))}),
    "map": lambda: pa.table({"m": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64()))}),
    "int dictionary": lambda: pa.table({"d": pa.array([1, 2, 1]).dictionary_encode()}),
    "duplicate names": lambda: pa.Table.from_arrays([pa.array([1]), pa.array([2])], ["a", "a"]),
}


@pytest.mark.parametrize("make", ARROW_INEXACT.values(), ids=ARROW_INEXACT.keys())
def test_arrow_tables_parquet_would_change_are_pickled(
    store: FsspecArtifactStore, make: Callable[[], Any]
) -> None:
    table = make()
    ref = store.put(table, producer=PRODUCER)
    assert ref.serializer == "pickle"
    assert store.get(ref).equals(table, check_metadata=True)


def test_a_large_frame_is_read_from_a_memory_mapped_file(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path)
    frame = pd.DataFrame({"x": np.arange(50_000), "y": np.arange(50_000) * 0.5})
    ref = store.put(frame, producer=PRODUCER)
    assert ref.location is not None
    assert ref.location.endswith(".parquet")
    assert ref.meta["rows"] == "50000"
    assert_same_frame(store.get(ref), frame)
