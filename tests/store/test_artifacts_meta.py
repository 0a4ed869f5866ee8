"""What a reference's ``meta`` records of its serialiser (``written_meta``)."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from legato.store.artifacts import FsspecArtifactStore
from legato.store.artifacts.registry import SerializerRegistry
from legato.store.artifacts.serializers import WritableFile, written_meta
from legato.store.artifacts.stamps import STAMP


class _Versioned:
    """A scalar serialiser whose reported versions change (a library imported later)."""

    name = "versioned"
    extension = "txt"
    version = 3

    def __init__(self) -> None:
        self.reported: dict[str, Any] = {"lib": 1}

    def accepts(self, obj: Any) -> bool:
        return isinstance(obj, int)

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        file.write(str(obj).encode())
        return {}

    def dump_small(self, obj: Any) -> bytes:
        return str(obj).encode()

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        return int(source if isinstance(source, bytes) else source.read_bytes())

    def versions(self) -> Mapping[str, Any]:
        return self.reported


def test_scalars_and_files_record_the_serialiser_as_it_answers_now(tmp_path: Path) -> None:
    serializer = _Versioned()
    store = FsspecArtifactStore(
        str(tmp_path), registry=SerializerRegistry([serializer]), inline_limit=4
    )
    small, large = store.put(7, producer="r/a#1"), store.put(123456789, producer="r/b#1")
    assert small.inline is not None
    assert large.inline is None
    assert dict(small.meta) == {"serializer_version": "3", "lib": "1"}
    assert {k: v for k, v in large.meta.items() if k != STAMP} == dict(small.meta)
    assert store.put(8, producer="r/c#1").meta is small.meta  # one mapping for equal answers
    serializer.reported = {"lib": 2, "other": [1]}  # unhashable: made afresh, still right
    assert dict(store.put(9, producer="r/d#1").meta) == {
        "serializer_version": "3",
        "lib": "2",
        "other": "[1]",
    }
    serializer.reported = {"lib": 2}
    assert dict(written_meta(serializer)) == {"serializer_version": "3", "lib": "2"}


def test_json_records_the_python_version(tmp_path: Path) -> None:
    ref = FsspecArtifactStore(str(tmp_path)).put(1, producer="r/a#1")
    assert dict(ref.meta) == {"serializer_version": "1", "python": platform.python_version()}
