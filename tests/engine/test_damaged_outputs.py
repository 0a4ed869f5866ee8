"""A damaged or missing stored output is never used again: a cache hit on it is a miss that
says why, and the task runs again from its intact inputs (a resume's task that reads one is
refused before it starts: ``test_durability``).

The artifacts are altered or deleted for real, on disk, between runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import legato
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import Storage
from legato.store.open import open_run_store

CALLS: list[str] = []
FAIL = {"later": False}


@legato.task
def big() -> bytes:
    CALLS.append("big")
    return bytes(range(256)) * 1000  # 256 KB: stored as a file, not inline


@legato.task
def size(data: bytes) -> int:
    CALLS.append("size")
    if FAIL["later"]:
        raise RuntimeError("fails in the first run")
    return len(data)


@legato.pipeline
def measured() -> int:
    return size(big())


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    CALLS.clear()
    FAIL["later"] = False
    runs = open_run_store(str(tmp_path / "legato.db"))
    try:
        yield Storage(runs=runs, artifacts=FsspecArtifactStore(tmp_path / "artifacts"))
    finally:
        runs.close()


def _file_of(storage: Storage, result: legato.RunResult) -> Path:
    ref = result.tasks["big"].output
    assert ref is not None
    assert ref.location is not None, "the test needs an artifact stored as a file"
    root = storage.artifacts.local_root  # type: ignore[attr-defined]
    return Path(root) / ref.location


@pytest.mark.parametrize("damage", ["altered", "deleted"])
def test_a_cache_hit_on_a_damaged_artifact_is_a_miss(storage: Storage, damage: str) -> None:
    first = legato.run(measured, store=storage, executor="threads")
    assert first.ok
    path = _file_of(storage, first)
    if damage == "altered":
        data = bytearray(path.read_bytes())
        data[1000] ^= 0xFF
        os.chmod(path, 0o644)
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    CALLS.clear()

    again = legato.run(measured, store=storage, executor="threads")

    assert again.ok, again.tasks["size"].error
    assert again.output == 256_000
    assert CALLS == ["big"]  # recomputed; size reads the same content: a hit
    record = again.tasks["big"]
    assert record.cache_hit is None
    assert record.reason.startswith("cache: miss, the result stored by run")
    assert "damaged" in record.reason
    assert again.tasks["size"].cache_hit == first.run_id
    ref = again.tasks["big"].output
    assert ref is not None
    assert storage.artifacts.get(ref) == bytes(range(256)) * 1000  # stored intact again
