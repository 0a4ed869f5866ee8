"""The built-in serialisers, in priority order: ``json``, ``npy``, ``parquet`` (in
:mod:`.parquet`), ``joblib``, ``pickle``.

None of them imports numpy, pandas, pyarrow or scikit-learn to decide whether it accepts a
value: each looks the library up in ``sys.modules``, where it must already be if the value's
type comes from it.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cloudpickle

from legato.store.artifacts.serializers import WritableFile, module_version, python_version

__all__ = ["JoblibSerializer", "JsonSerializer", "NpySerializer", "PickleSerializer"]

_WRITE_CHUNK = 64 * 1024 * 1024
_MAX_INT_BITS = 12_000
"""Python refuses to turn ints of more than 4,300 digits into text; such ints are pickled."""


def _read(source: bytes | Path) -> bytes:
    return source.read_bytes() if isinstance(source, Path) else source


def _versions(*modules: str) -> dict[str, str]:
    out = {"python": python_version()}
    for name in modules:
        version = module_version(name)
        if version is not None:
            out[name] = version
    return out


# -- json --------------------------------------------------------------------------------------

_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def is_exact_json(obj: Any) -> bool:
    """Whether ``obj`` comes back from JSON equal and of the same types: ``None``, ``bool``,
    ``int``, finite ``float``, ``str``, and ``list`` / ``dict`` with ``str`` keys of those
    (exact types, so a tuple, an int key, a ``float`` subclass such as ``numpy.float64`` or
    a list appearing twice are not)."""
    kind = type(obj)
    if kind is not list and kind is not dict:  # a scalar (most outputs of a fan-out)
        if obj is None or kind is bool or kind is str:
            return True
        if kind is int:
            return bool(obj.bit_length() <= _MAX_INT_BITS)
        return kind is float and math.isfinite(obj)
    stack = [obj]
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        kind = type(value)
        if value is None or kind is bool or kind is str:
            continue
        if kind is int:
            if value.bit_length() > _MAX_INT_BITS:
                return False
            continue
        if kind is float:
            if not math.isfinite(value):
                return False
            continue
        if kind is list or kind is dict:
            if id(value) in seen:
                return False  # shared or cyclic: JSON would copy it or recurse forever
            seen.add(id(value))
            if kind is list:
                stack.extend(value)
                continue
            for key, item in value.items():
                if type(key) is not str:
                    return False
                stack.append(item)
            continue
        return False
    return True


def json_bytes(obj: Any) -> bytes:
    """``obj`` as the ``json`` serialiser writes it: compact UTF-8 JSON, keys in their
    order (a list's text is ``[``, its items' texts joined by ``,``, then ``]``)."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


class JsonSerializer:
    """Plain data (see :func:`is_exact_json`) as compact UTF-8 JSON, readable by anything."""

    name = "json"
    extension = "json"
    version = "1"

    def accepts(self, obj: Any) -> bool:
        """Only values whose round trip is exact."""
        return is_exact_json(obj)

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        """Write compact JSON, keys in their order."""
        file.write(json_bytes(obj))
        return {}

    def dump_small(self, obj: Any) -> bytes | None:
        """The bytes :meth:`dump` writes for a scalar (``None``, ``bool``, ``int``, ``float``,
        ``str``), made without a file: what most tasks of a fan-out return. ``None`` for
        anything else."""
        kind = type(obj)
        if kind is int:
            text = int.__repr__(obj)
        elif kind is str:
            text = _encode_str(obj)
        elif kind is bool:
            text = "true" if obj else "false"
        elif obj is None:
            text = "null"
        elif kind is float:
            text = float.__repr__(obj)
        else:
            return None
        return text.encode("utf-8", "surrogatepass")

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        """Parse it back."""
        return json.loads(_read(source).decode("utf-8", "surrogatepass"))

    def versions(self) -> Mapping[str, str]:
        """Only the Python version: JSON has no library."""
        return _versions()


# -- npy ---------------------------------------------------------------------------------------


def _numpy() -> Any:
    return importlib.import_module("numpy")


class NpySerializer:
    """numpy arrays of numbers, booleans, dates, bytes, text or structured records (no Python
    objects) as ``.npy``; a stored array loads memory-mapped and read-only."""

    name = "npy"
    extension = "npy"
    version = "1"

    def accepts(self, obj: Any) -> bool:
        """Plain ``ndarray`` (or a ``memmap`` of one) without Python objects inside."""
        np = sys.modules.get("numpy")
        if np is None or type(obj) not in (np.ndarray, np.memmap):
            return False
        dtype = obj.dtype
        if dtype.hasobject or dtype.kind not in "biufcmMSUV":
            return False
        # zero-width bytes or text would come back as a 1-byte type
        return not (dtype.kind in "SUV" and dtype.itemsize == 0)

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        """Header, then the array's memory written straight from it (no copy) when it is
        contiguous; numpy's chunked writer otherwise."""
        np = _numpy()
        fmt = np.lib.format
        meta = {"dtype": str(obj.dtype), "shape": json.dumps(list(obj.shape))}
        contiguous = obj.flags.c_contiguous or obj.flags.f_contiguous
        if not contiguous or obj.dtype.names is not None or obj.dtype.itemsize == 0:
            fmt.write_array(file, obj, allow_pickle=False)
            return meta
        fmt.write_array_header_1_0(file, fmt.header_data_from_array_1_0(obj))
        if obj.size:
            memory = obj if obj.flags.c_contiguous else obj.T
            view = memoryview(memory.reshape(-1).view(np.uint8))
            for start in range(0, len(view), _WRITE_CHUNK):
                file.write(view[start : start + _WRITE_CHUNK])
        return meta

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        """Memory-mapped read-only from a file; a read-only array from bytes."""
        np = _numpy()
        if isinstance(source, Path):
            return np.load(source, mmap_mode="r", allow_pickle=False)
        array = np.load(io.BytesIO(source), allow_pickle=False)
        array.flags.writeable = False  # the same as a mapped one: code that works on small
        return array  # arrays keeps working on large ones

    def versions(self) -> Mapping[str, str]:
        """numpy's version."""
        return _versions("numpy")


# -- joblib ------------------------------------------------------------------------------------


class JoblibSerializer:
    """scikit-learn estimators (pipelines included), as a pickle that ``joblib.load`` reads.

    Version 2 writes with the standard library's C pickler (protocol 5, arrays in band,
    written from their memory): a fitted random forest of 100 trees takes about 10 ms, where
    ``joblib.dump``, whose pickler is written in Python and wraps every array, took 110 ms.
    Version 1 files (``joblib.dump``'s own layout) still load, with ``joblib.load``.
    """

    name = "joblib"
    extension = "joblib"
    version = "2"

    def accepts(self, obj: Any) -> bool:
        """Instances of ``sklearn.base.BaseEstimator`` (sklearn is never imported to check)."""
        base = sys.modules.get("sklearn.base")
        estimator = getattr(base, "BaseEstimator", None)
        return estimator is not None and isinstance(obj, estimator)

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        """Pickle protocol 5 into the file."""
        pickle.dump(obj, file, protocol=5)
        cls = type(obj)
        return {"type": f"{cls.__module__}.{cls.__qualname__}"}

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        """``pickle`` for version 2, ``joblib.load`` for version 1."""
        if meta.get("serializer_version", "1") != "1":
            if isinstance(source, Path):
                with source.open("rb") as f:
                    return pickle.load(f)
            return pickle.loads(source)
        joblib = importlib.import_module("joblib")
        return joblib.load(source if isinstance(source, Path) else io.BytesIO(source))

    def versions(self) -> Mapping[str, str]:
        """scikit-learn, joblib and numpy versions (estimators are only guaranteed to load
        with the scikit-learn version that saved them)."""
        return _versions("sklearn", "joblib", "numpy")


# -- pickle ------------------------------------------------------------------------------------


class PickleSerializer:
    """Anything else, with cloudpickle (so lambdas and classes from ``__main__`` work)."""

    name = "pickle"
    extension = "pkl"
    version = "1"

    def accepts(self, obj: Any) -> bool:
        """Everything: the fallback."""
        return True

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        """cloudpickle, highest protocol."""
        cloudpickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
        cls = type(obj)
        return {"type": f"{cls.__module__}.{cls.__qualname__}"}

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        """Standard ``pickle`` reads cloudpickle's output."""
        if isinstance(source, Path):
            with source.open("rb") as f:
                return pickle.load(f)
        return pickle.loads(source)

    def versions(self) -> Mapping[str, str]:
        """Python and cloudpickle versions."""
        return _versions("cloudpickle")
