"""The artifact store against real backends: a local folder, fsspec's memory filesystem and a
real S3 API (moto's standalone server on 127.0.0.1, the fixture of conftest.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import math
import os
import pickle
import subprocess
import sys
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from legato.errors import IntegrityError, StoreError
from legato.model.artifacts import INLINE_LIMIT, ArtifactRef
from legato.store.artifacts import (
    FsspecArtifactStore,
    SerializerRegistry,
    UnsupportedValueError,
    WritableFile,
    builtin_serializers,
    default_registry,
    location_for,
    register_serializer,
)
from legato.store.artifacts.stamps import STAMP
from legato.store.hashing import checksum_bytes

PRODUCER = "run-1/train#1"


# -- backends ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Backdoor:
    """Raw access to where a store keeps its bytes, to damage artifacts behind its back."""

    read: Callable[[str], bytes]
    write: Callable[[str, bytes], None]
    delete: Callable[[str], None]
    listing: Callable[[], list[str]]


def _local(tmp_path: Path) -> tuple[FsspecArtifactStore, Backdoor]:
    root = tmp_path / "artifacts"
    store = FsspecArtifactStore(root)

    def listing() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    return store, Backdoor(
        read=lambda loc: (root / loc).read_bytes(),
        write=lambda loc, data: (root / loc).write_bytes(data),
        delete=lambda loc: (root / loc).unlink(),
        listing=listing,
    )


def _fsspec(url: str, options: Mapping[str, Any]) -> tuple[FsspecArtifactStore, Backdoor]:
    import fsspec

    store = FsspecArtifactStore(url, storage_options=options)
    fs, root = fsspec.core.url_to_fs(url, **options)

    def listing() -> list[str]:
        fs.invalidate_cache()
        return sorted(p[len(root) + 1 :] for p in fs.find(root))

    return store, Backdoor(
        read=lambda loc: bytes(fs.cat_file(f"{root}/{loc}")),
        write=lambda loc, data: fs.pipe_file(f"{root}/{loc}", data),
        delete=lambda loc: fs.rm_file(f"{root}/{loc}"),
        listing=listing,
    )


@pytest.fixture(params=["local", "memory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[FsspecArtifactStore, Backdoor]:
    """The same store behaviour on every backend."""
    name = uuid.uuid4().hex[:12]
    if request.param == "local":
        return _local(tmp_path)
    if request.param == "memory":
        return _fsspec(f"memory://legato-{name}", {})
    options = request.getfixturevalue("s3_options")
    return _fsspec(f"s3://legato-test/{name}", options)


@pytest.fixture
def store(backend: tuple[FsspecArtifactStore, Backdoor]) -> FsspecArtifactStore:
    return backend[0]


@pytest.fixture
def local(tmp_path: Path) -> FsspecArtifactStore:
    return FsspecArtifactStore(tmp_path / "artifacts")


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0 nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            same(ka, kb) and same(a[ka], b[kb]) for ka, kb in zip(a, b, strict=True)
        )
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def roundtrip(store: FsspecArtifactStore, value: Any) -> tuple[ArtifactRef, Any]:
    ref = store.put(value, producer=PRODUCER)
    return ref, store.get(ref)


# -- serialisers: which one, and exact round trips ---------------------------------------------


class Color(IntEnum):
    RED = 1


JSON_EXACT = [
    None,
    True,
    0,
    -(2**100),
    1.5,
    -0.0,
    1e300,
    "",
    "héllo wörld ✓",
    "lone \ud800 surrogate",
    [],
    {},
    [1, "a", None, 2.0, False],
    {"a": {"b": [1.0, {"c": None}]}, "z": 1, "b": 2},
]


@pytest.mark.parametrize("value", JSON_EXACT, ids=repr)
def test_plain_data_goes_to_json_and_comes_back_exactly(
    store: FsspecArtifactStore, value: Any
) -> None:
    ref, out = roundtrip(store, value)
    assert ref.serializer == "json"
    assert same(out, value)


def _cyclic() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


_shared = [1, 2]
NOT_JSON = {
    "tuple": (1, 2),
    "nested tuple": [1, (2, 3)],
    "int keys": {1: "a", 2: "b"},
    "tuple keys": {("a", 1): 1},
    "nan": float("nan"),
    "inf": float("inf"),
    "bytes": b"raw",
    "set": {1, 2},
    "numpy float": np.float64(1.5),
    "int enum": Color.RED,
    "dict subclass": OrderedDict(a=1),
    "shared list": [_shared, _shared],
    "huge int": 10**5000,
}


@pytest.mark.parametrize("value", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_values_json_would_change_are_pickled_exactly(
    store: FsspecArtifactStore, value: Any
) -> None:
    ref, out = roundtrip(store, value)
    assert ref.serializer == "pickle"
    assert same(out, value)


def test_shared_and_cyclic_structure_survives(store: FsspecArtifactStore) -> None:
    _, out = roundtrip(store, [_shared, _shared])
    assert out[0] is out[1]
    ref, loop = roundtrip(store, _cyclic())
    assert ref.serializer == "pickle"
    assert loop[1] is loop


ARRAYS = {
    "float32 2d": np.arange(12, dtype=np.float32).reshape(3, 4),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "bool": np.array([True, False]),
    "complex": np.array([1 + 2j, -0.5j]),
    "datetime": np.array(["2024-01-01", "1970-01-02"], dtype="datetime64[s]"),
    "timedelta": np.array([1, -2], dtype="timedelta64[ns]"),
    "unicode": np.array(["a", "héllo"]),
    "bytes": np.array([b"ab", b"c"]),
    "structured": np.array([(1, 2.5)], dtype=[("x", "<i4"), ("y", "<f8")]),
    "big endian": np.arange(4, dtype=">f8"),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "strided": np.arange(20)[::3],
    "0-d": np.array(3.5),
    "empty": np.zeros((0, 3)),
}


@pytest.mark.parametrize("array", ARRAYS.values(), ids=ARRAYS.keys())
def test_arrays_go_to_npy_with_dtype_shape_and_values(
    store: FsspecArtifactStore, array: Any
) -> None:
    for value in (array, np.tile(array, 3000) if array.ndim == 1 else array):
        ref, out = roundtrip(store, value)
        assert ref.serializer == "npy"
        assert out.dtype == value.dtype
        assert out.shape == value.shape
        assert np.array_equal(out, value)
        assert ref.meta["numpy"] == np.__version__
        assert ref.meta["shape"] == str(list(value.shape))
        assert not out.flags.writeable
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        assert out.flags.f_contiguous


def test_object_arrays_and_array_subclasses_are_pickled(store: FsspecArtifactStore) -> None:
    ref, out = roundtrip(store, np.array([1, "a", None], dtype=object))
    assert ref.serializer == "pickle"
    assert list(out) == [1, "a", None]
    masked = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    ref, out = roundtrip(store, masked)
    assert ref.serializer == "pickle"
    assert type(out) is np.ma.MaskedArray
    assert list(out.mask) == [False, True, False]


def test_large_array_loads_memory_mapped_read_only_from_the_store(
    local: FsspecArtifactStore,
) -> None:
    array = np.random.default_rng(0).random((300, 100))
    ref, out = roundtrip(local, array)
    assert ref.location is not None
    assert ref.size > INLINE_LIMIT
    assert isinstance(out, np.memmap)
    assert Path(out.filename) == Path(local.local_root or "") / ref.location
    assert not out.flags.writeable
    assert np.array_equal(out, array)
    again = local.put(out, producer=PRODUCER)  # a loaded memmap is stored as the same array
    assert (again.serializer, again.checksum) == ("npy", ref.checksum)


def test_array_above_the_memory_spool_roundtrips_on_every_backend(
    store: FsspecArtifactStore,
) -> None:
    array = np.arange(9 * 1024 * 1024 // 8, dtype=np.int64)  # 9 MiB: spilled, streamed back
    ref, out = roundtrip(store, array)
    assert ref.size > 9 * 1024 * 1024
    assert isinstance(out, np.memmap)
    assert np.array_equal(out, array)


def test_sklearn_estimators_go_to_joblib_and_predict_the_same(store: FsspecArtifactStore) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    ref, out = roundtrip(store, model)
    assert ref.serializer == "joblib"
    assert ref.meta["sklearn"] == sys.modules["sklearn"].__version__
    assert ref.meta["type"] == "sklearn.pipeline.Pipeline"
    assert np.array_equal(out.predict(x), model.predict(x))
    assert np.array_equal(out.predict_proba(x), model.predict_proba(x))


def test_a_stored_estimator_loads_with_joblib_and_one_joblib_wrote_still_loads(
    tmp_path: Path,
) -> None:
    import joblib
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    local = FsspecArtifactStore(tmp_path / "artifacts", inline_limit=0)
    ref = local.put(model, producer=PRODUCER)
    assert (ref.serializer, ref.meta["serializer_version"]) == ("joblib", "2")
    path = Path(local.local_root or "") / (ref.location or "")
    assert np.array_equal(joblib.load(path).predict(x), model.predict(x))  # users' way
    # An artifact of version 1, as joblib.dump wrote it, is read with joblib.load.
    written = io.BytesIO()
    joblib.dump(model, written)
    data = written.getvalue()
    old = ArtifactRef(
        checksum=checksum_bytes(data),
        size=len(data),
        serializer="joblib",
        inline=data,
        producer=PRODUCER,
        meta={"serializer_version": "1"},
    )
    assert np.array_equal(local.get(old).predict(x), model.predict(x))


def test_anything_else_is_cloudpickled(store: FsspecArtifactStore) -> None:
    offset = 3
    ref, out = roundtrip(store, lambda v: v + offset)
    assert ref.serializer == "pickle"
    assert out(1) == 4
    assert ref.meta["cloudpickle"]
    assert ref.meta["python"] == ".".join(map(str, sys.version_info[:3]))


def test_every_reference_records_serializer_and_library_versions(
    store: FsspecArtifactStore,
) -> None:
    for value, library in [({"a": 1}, None), (np.arange(3), "numpy"), ((1,), "cloudpickle")]:
        ref = store.put(value, producer=PRODUCER)
        assert ref.meta["serializer_version"] == "1"
        assert ref.meta["python"]
        if library is not None:
            assert ref.meta[library] == sys.modules[library].__version__


HEAVY = ("numpy", "pandas", "pyarrow", "sklearn", "joblib", "fsspec", "s3fs")


@pytest.mark.parametrize(
    ("setup", "values", "imported"),
    [
        ("", '{"a": [1, 2.5]}, (1, 2), lambda: 1, list(range(10_000))', []),
        ("import numpy as np", "np.arange(10), np.arange(100_000)", ["numpy"]),
        (
            "import pandas as pd",
            'pd.DataFrame({"a": [1]}), pd.DataFrame({0: [1]})',
            ["numpy", "pandas", "pyarrow"],
        ),
    ],
    ids=["plain values", "arrays", "frames"],
)
def test_serialisers_import_no_library_the_value_does_not_come_from(
    tmp_path: Path, setup: str, values: str, imported: list[str]
) -> None:
    code = f"""
import sys
{setup}
from legato.store.artifacts import FsspecArtifactStore
store = FsspecArtifactStore({str(tmp_path)!r}, inline_limit=0)
for value in ({values}):
    store.get(store.put(value, producer="p"))
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""
    if imported and importlib.util.find_spec(imported[-1]) is None:
        pytest.skip(f"{imported[-1]} is not installed")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == str(imported), out.stderr


# -- inline or stored --------------------------------------------------------------------------


def test_the_default_inline_threshold_is_64_kib(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path)
    assert store.inline_limit == INLINE_LIMIT == 64 * 1024
    small = store.put(np.zeros(INLINE_LIMIT // 8 - 16), producer=PRODUCER)
    large = store.put(np.zeros(INLINE_LIMIT // 8), producer=PRODUCER)
    assert small.inline is not None
    assert small.location is None
    assert large.inline is None
    assert large.location is not None


def test_values_up_to_the_limit_are_inline_and_larger_ones_stored(
    backend: tuple[FsspecArtifactStore, Backdoor],
) -> None:
    _, door = backend
    store = FsspecArtifactStore(backend[0].url, backend[0].storage_options, inline_limit=100)
    at_limit = store.put("a" * 98, producer=PRODUCER)  # JSON: 98 characters and 2 quotes
    above = store.put("a" * 99, producer=PRODUCER)
    assert (at_limit.size, at_limit.location) == (100, None)
    assert at_limit.inline == b'"' + b"a" * 98 + b'"'
    assert above.size == 101
    assert above.inline is None
    assert above.location == location_for(above.checksum, "json")
    assert above.checksum == checksum_bytes(b'"' + b"a" * 99 + b'"')
    assert door.listing() == [above.location]
    assert store.get(at_limit) == "a" * 98
    assert store.get(above) == "a" * 99


def test_identical_content_is_stored_once(backend: tuple[FsspecArtifactStore, Backdoor]) -> None:
    store, door = backend
    array = np.arange(20_000)
    first = store.put(array, producer="run-1/a#1")
    second = store.put(array.copy(), producer="run-2/b#1")
    assert first.location == second.location
    assert (first.producer, second.producer) == ("run-1/a#1", "run-2/b#1")
    assert door.listing() == [first.location]


def test_an_existing_identical_file_is_not_rewritten(local: FsspecArtifactStore) -> None:
    ref = local.put(np.arange(20_000), producer=PRODUCER)
    path = Path(local.local_root or "") / (ref.location or "")
    before = path.stat()
    local.put(np.arange(20_000), producer=PRODUCER)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert list((path.parents[2] / "tmp").iterdir()) == []


def test_putting_the_same_value_again_repairs_a_damaged_local_file(
    local: FsspecArtifactStore,
) -> None:
    ref = local.put(np.arange(20_000), producer=PRODUCER)
    path = Path(local.local_root or "") / (ref.location or "")
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 0xFF
    path.write_bytes(damaged)
    with pytest.raises(IntegrityError):
        local.verify(ref)
    local.put(np.arange(20_000), producer=PRODUCER)
    local.verify(ref)


# -- integrity: verified on every read ---------------------------------------------------------


class SpySerializer:
    """Pickles, and counts loads: a damaged artifact must never reach a deserialiser."""

    name = "spy"
    extension = "spy"
    version = "1"

    def __init__(self) -> None:
        self.loads = 0

    def accepts(self, obj: Any) -> bool:
        return True

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        file.write(pickle.dumps(obj))
        return {}

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        self.loads += 1
        return pickle.loads(source.read_bytes() if isinstance(source, Path) else source)

    def versions(self) -> Mapping[str, str]:
        return {}


def _damage_cases() -> dict[str, Callable[[bytes], bytes | None]]:
    def flip(data: bytes) -> bytes:
        out = bytearray(data)
        out[len(out) // 2] ^= 0x01
        return bytes(out)

    return {
        "truncated": lambda data: data[: len(data) // 2],
        "emptied": lambda data: b"",
        "byte flipped": flip,
        "appended": lambda data: data + b"\0",
        "deleted": lambda data: None,
    }


DAMAGE = _damage_cases()
EXPECTED = {
    "truncated": "truncated or altered",
    "emptied": "truncated or altered",
    "byte flipped": "does not match its checksum",
    "appended": "truncated or altered",
    "deleted": "is missing",
}


@pytest.mark.parametrize("damage", DAMAGE.keys())
def test_a_damaged_artifact_is_refused_naming_it_and_its_producer(
    backend: tuple[FsspecArtifactStore, Backdoor], damage: str
) -> None:
    base, door = backend
    spy = SpySerializer()
    store = FsspecArtifactStore(
        base.url, base.storage_options, inline_limit=0, registry=SerializerRegistry([spy])
    )
    ref = store.put(list(range(1000)), producer=PRODUCER)
    assert ref.location is not None
    assert store.get(ref) == list(range(1000))
    damaged = DAMAGE[damage](door.read(ref.location))
    if damaged is None:
        door.delete(ref.location)
    else:
        door.write(ref.location, damaged)
    for read in (store.get, store.verify):
        with pytest.raises(IntegrityError) as caught:
            read(ref)
        message = str(caught.value)
        assert ref.location in message
        assert PRODUCER in message
        assert EXPECTED[damage] in message
        assert "Run the task that produced it again" in message
    assert spy.loads == 1  # only the good read reached the deserialiser


@pytest.mark.parametrize("damage", ["truncated", "byte flipped"])
def test_a_damaged_large_artifact_is_refused_after_streaming(
    backend: tuple[FsspecArtifactStore, Backdoor], damage: str
) -> None:
    store, door = backend
    ref = store.put(np.ones(9 * 1024 * 1024 // 8), producer=PRODUCER)  # above the 8 MiB spool
    assert ref.location is not None
    door.write(ref.location, DAMAGE[damage](door.read(ref.location)) or b"")
    with pytest.raises(IntegrityError, match=EXPECTED[damage]) as caught:
        store.get(ref)
    assert PRODUCER in str(caught.value)
    assert ref.location in str(caught.value)


def test_altered_inline_bytes_are_refused(store: FsspecArtifactStore) -> None:
    ref = store.put({"weights": [1, 2, 3]}, producer=PRODUCER)
    assert ref.inline is not None
    for altered in (ref.inline.replace(b"1", b"7"), ref.inline[:-1], ref.inline + b" "):
        bad = dataclasses.replace(ref, inline=altered)
        for read in (store.get, store.verify):
            with pytest.raises(IntegrityError) as caught:
                read(bad)
            assert PRODUCER in str(caught.value)
            assert "inline" in str(caught.value)


def test_the_checksum_is_of_the_serialised_bytes(store: FsspecArtifactStore) -> None:
    ref = store.put({"a": 1}, producer=PRODUCER)
    assert ref.inline == b'{"a":1}'
    assert ref.checksum == checksum_bytes(b'{"a":1}')
    assert ref.digest == ref.checksum.removeprefix("xxh3_128:")


# -- locations come from legato only -----------------------------------------------------------


def _malicious_locations(digest: str) -> list[str]:
    hh = digest[:2]
    other = "0" * 32
    full_width = digest.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    return [
        "",
        "../secret",
        f"../objects/{hh}/{digest}.npy",
        f"objects/{hh}/../../../etc/passwd",
        f"objects/{hh}/{digest}.npy/../../../x",
        f"/objects/{hh}/{digest}.npy",
        "/etc/passwd",
        f"./objects/{hh}/{digest}.npy",
        f"objects//{hh}/{digest}.npy",
        f"s3://other-bucket/objects/{hh}/{digest}.npy",
        f"file:///objects/{hh}/{digest}.npy",
        f"file:objects/{hh}/{digest}.npy",
        f"memory://objects/{hh}/{digest}.npy",
        f"objects\\{hh}\\{digest}.npy",
        f"objects/{hh}\\..\\{digest}.npy",
        f"objects/{hh}/{digest}.npy\x00.txt",
        f"objects/{hh}/{digest}.npy\n",
        f"objects/{hh}/{digest}",
        f"objects/{hh}/{digest}.",
        f"objects/{hh}/{digest}.NPY",
        f"objects/{hh}/{digest}.n/py",
        f"objects/{hh.upper()}/{digest.upper()}.npy",
        f"objects/zz/{digest}.npy",
        f"objects/{hh}/{other}.npy",
        f"objects/{other[:2]}/{other}.npy",
        f"%2e%2e/objects/{hh}/{digest}.npy",
        f"objects%2F{hh}%2F{digest}.npy",
        f"objects/{full_width[:2]}/{full_width}.npy",
        f"tmp/{digest}.tmp",
    ]


def test_locations_legato_never_assigns_are_refused_before_any_read(
    backend: tuple[FsspecArtifactStore, Backdoor],
) -> None:
    store, door = backend
    ref = store.put(np.arange(20_000), producer=PRODUCER)
    assert ref.location == location_for(ref.checksum, "npy")
    for location in _malicious_locations(ref.digest):
        bad = dataclasses.replace(ref, location=location)
        for read in (store.get, store.verify):
            with pytest.raises(IntegrityError, match="never assigns") as caught:
                read(bad)
            assert PRODUCER in str(caught.value)
    assert door.listing() == [ref.location]


@pytest.mark.parametrize(
    "checksum",
    ["", "xxh3_128:", "md5:" + "0" * 32, "xxh3_128:" + "A" * 32, "xxh3_128:../../etc/pass"],
)
def test_malformed_references_are_refused(local: FsspecArtifactStore, checksum: str) -> None:
    ref = local.put(np.arange(20_000), producer=PRODUCER)
    with pytest.raises(IntegrityError, match="malformed checksum"):
        local.get(dataclasses.replace(ref, checksum=checksum))
    with pytest.raises(IntegrityError, match="either inline bytes or a location"):
        local.get(dataclasses.replace(ref, inline=b"x"))
    with pytest.raises(IntegrityError, match="either inline bytes or a location"):
        local.verify(dataclasses.replace(ref, location=None))


def test_a_producer_name_never_becomes_a_path(
    backend: tuple[FsspecArtifactStore, Backdoor],
) -> None:
    store, door = backend
    ref = store.put(np.arange(20_000), producer="../../etc/passwd#1")
    assert door.listing() == [ref.location]
    assert ref.producer == "../../etc/passwd#1"


# -- user serialisers --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class PointSerializer:
    """Writes a Point as ``x,y`` text."""

    name = "point"
    extension = "pt"
    version = "2"

    def accepts(self, obj: Any) -> bool:
        return type(obj) is Point

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        if obj.x < 0:
            raise UnsupportedValueError("negative points are pickled")
        file.write(f"{obj.x},{obj.y}".encode())
        return {"unit": "px"}

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        data = source.read_bytes() if isinstance(source, Path) else source
        x, y = data.decode().split(",")
        return Point(int(x), int(y))

    def versions(self) -> Mapping[str, str]:
        return {"points": "0.1"}


def test_a_registered_serializer_is_used_and_recorded(tmp_path: Path) -> None:
    registry = SerializerRegistry(builtin_serializers())
    registry.register(PointSerializer())
    assert registry.names()[:2] == ["point", "json"]
    store = FsspecArtifactStore(tmp_path, registry=registry, inline_limit=0)
    ref, out = roundtrip(store, Point(1, 2))
    assert (ref.serializer, out) == ("point", Point(1, 2))
    assert ref.location is not None
    assert ref.location.endswith(".pt")
    details = {k: v for k, v in ref.meta.items() if k != STAMP}  # a file's stamp: see stamps.py
    assert details == {"serializer_version": "2", "points": "0.1", "unit": "px"}


def test_a_serializer_can_decline_and_the_next_one_takes_the_value(tmp_path: Path) -> None:
    registry = SerializerRegistry(builtin_serializers())
    registry.register(PointSerializer())
    store = FsspecArtifactStore(tmp_path, registry=registry, inline_limit=0)
    ref, out = roundtrip(store, Point(-1, 2))
    assert (ref.serializer, out) == ("pickle", Point(-1, 2))
    assert sorted(p.name for p in (tmp_path / "objects").rglob("*.*")) == [f"{ref.digest}.pkl"]


def test_register_serializer_adds_to_the_default_registry() -> None:
    register_serializer(PointSerializer(), before="pickle")
    try:
        assert default_registry.names() == ["json", "npy", "parquet", "joblib", "point", "pickle"]
        register_serializer(PointSerializer())  # same name: moved, not duplicated
        assert default_registry.names()[0] == "point"
        assert default_registry.names().count("point") == 1
    finally:
        default_registry.unregister("point")
    assert default_registry.names() == ["json", "npy", "parquet", "joblib", "pickle"]


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("name", "Bad Name"), ("name", ""), ("extension", "../x"), ("extension", ".pt")],
)
def test_malformed_serializers_are_refused(attribute: str, value: str) -> None:
    serializer = PointSerializer()
    setattr(serializer, attribute, value)
    with pytest.raises(ValueError, match=attribute):
        SerializerRegistry().register(serializer)


def test_registering_before_an_unknown_serializer_is_refused() -> None:
    with pytest.raises(ValueError, match="no such serializer"):
        SerializerRegistry(builtin_serializers()).register(PointSerializer(), before="nope")


def test_reading_with_an_unregistered_serializer_says_how_to_fix_it(tmp_path: Path) -> None:
    registry = SerializerRegistry(builtin_serializers())
    registry.register(PointSerializer())
    ref = FsspecArtifactStore(tmp_path, registry=registry).put(Point(1, 2), producer=PRODUCER)
    with pytest.raises(StoreError, match="register_serializer") as caught:
        FsspecArtifactStore(tmp_path).get(ref)
    assert PRODUCER in str(caught.value)


def test_a_value_that_cannot_be_serialised_leaves_nothing_behind(
    local: FsspecArtifactStore,
) -> None:
    with pytest.raises(StoreError, match=r"could not serialise the output of run-1/train#1"):
        local.put([np.zeros(20_000), threading.Lock()], producer=PRODUCER)
    root = Path(local.local_root or "")
    assert [p for p in root.rglob("*") if p.is_file()] == []


# -- threads and processes ---------------------------------------------------------------------


def test_many_threads_put_and_get_at_once(store: FsspecArtifactStore) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(4):
                shared = np.arange(10_000) * i  # the same content from every thread
                own = np.arange(10_000) + worker * 1000 + i
                for value in (shared, own, {"w": worker, "i": i}):
                    out = store.get(store.put(value, producer=f"run/t{worker}#1"))
                    assert same(out, value) if isinstance(value, dict) else (out == value).all()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_store_pickles_as_its_url_and_options(store: FsspecArtifactStore) -> None:
    ref = store.put(np.arange(20_000), producer=PRODUCER)
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.url, copy.storage_options, copy.inline_limit) == (
        store.url,
        store.storage_options,
        store.inline_limit,
    )
    assert np.array_equal(copy.get(ref), np.arange(20_000))


def test_a_worker_process_started_elsewhere_reads_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = FsspecArtifactStore("relative/artifacts")
    assert store.url == (tmp_path / "relative" / "artifacts").as_uri()
    ref = store.put(np.arange(20_000), producer=PRODUCER)
    code = (
        "import pickle, sys; store, ref = pickle.load(sys.stdin.buffer); "
        "print(int(store.get(ref).sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps((store, ref)),
        capture_output=True,
        cwd=os.path.expanduser("~"),
        check=True,
        timeout=60,
    )
    assert int(out.stdout) == int(np.arange(20_000).sum())


class _JsonWithoutShortcut:
    """The built-in JSON serialiser without ``dump_small``: what the general path writes."""

    def __init__(self) -> None:
        (self._json,) = [s for s in builtin_serializers() if s.name == "json"]
        self.name, self.extension, self.version = "json", "json", self._json.version

    def accepts(self, obj: Any) -> bool:
        return self._json.accepts(obj)

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        return self._json.dump(obj, file)

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        return self._json.load(source, meta)

    def versions(self) -> Mapping[str, str]:
        return self._json.versions()


SCALARS = [0, -7, 2**70, True, False, None, 1.5, 1e16, -0.0, 5e-324, 0.1]
SCALARS += ["", "héllo", 'a"b\\c\n\t\x00\x7f', "\u2028", "\ud800 lone", "😀"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_a_scalar_stored_in_one_piece_gets_the_reference_of_the_general_path(
    local: FsspecArtifactStore, value: Any
) -> None:
    general = FsspecArtifactStore(local.url, registry=SerializerRegistry([_JsonWithoutShortcut()]))
    fast = local.put(value, producer="r/t#1")
    assert fast == general.put(value, producer="r/t#1")
    assert fast.serializer == "json"
    assert fast.inline is not None
    assert same(local.get(fast), value)


def test_the_one_piece_path_follows_the_registry(tmp_path: Path) -> None:
    class Ints(_JsonWithoutShortcut):
        def __init__(self) -> None:
            super().__init__()
            self.name = "ints"

        def accepts(self, obj: Any) -> bool:
            return type(obj) is int

    registry = SerializerRegistry(builtin_serializers())
    registry.register(Ints())
    store = FsspecArtifactStore(tmp_path, registry=registry)
    assert store.put(5, producer="r/t#1").serializer == "ints"
    assert store.put("five", producer="r/t#1").serializer == "json"
    # Too big to stay inline: written to a file by the general path.
    small = FsspecArtifactStore(tmp_path, inline_limit=4)
    ref = small.put("a longer string", producer="r/t#1")
    assert ref.inline is None
    assert ref.location is not None
    assert small.get(ref) == "a longer string"
