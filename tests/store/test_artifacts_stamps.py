"""A local artifact read on the machine and boot that wrote it is checked by its file's
stamp instead of being hashed again, and a file changed on disk in any way still fails the
read: written to in place, truncated, extended, through a shared memory map, with its times
set back by hand, replaced, deleted.

The stamp is forced here rather than left to timing: a file's times are set back (as a
long write would leave them) and the value is put again, so the store, finding the identical
file, hashes it and stamps it."""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from legato.errors import IntegrityError
from legato.model.artifacts import ArtifactRef
from legato.store.artifacts import FsspecArtifactStore
from legato.store.artifacts.backends import LocalBackend
from legato.store.artifacts.stamps import STAMP, current_boot

pytestmark = pytest.mark.skipif(current_boot() is None, reason="no boot id to stamp files with")

PRODUCER = "run-1/produce#1"
VALUE = np.arange(200_000, dtype=np.float64)  # 1.6 MB: a file, not inline


def stamped(store: FsspecArtifactStore) -> tuple[ArtifactRef, Path]:
    """``VALUE`` stored, its reference carrying a stamp, and its file."""
    ref = store.put(VALUE, producer=PRODUCER)
    path = Path(store.local_root or "") / (ref.location or "")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))  # written a second earlier
    ref = store.put(VALUE, producer=PRODUCER)
    assert STAMP in ref.meta
    return ref, path


def fetched_checksum(store: FsspecArtifactStore, ref: ArtifactRef) -> str | None:
    backend = LocalBackend(Path(store.local_root or ""))
    assert ref.location is not None
    return backend.fetch(ref.location, ref.size, ref.meta.get(STAMP)).checksum


def test_an_unchanged_file_is_read_without_hashing_and_loads(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path / "artifacts")
    ref, _ = stamped(store)
    assert fetched_checksum(store, ref) is None  # the writer's checksum holds: nothing read
    loaded = store.get(ref)
    assert isinstance(loaded, np.memmap)
    assert np.array_equal(loaded, VALUE)


def test_a_stamp_of_another_boot_or_a_stampless_reference_is_hashed(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path / "artifacts")
    ref, _ = stamped(store)
    version, boot, rest = ref.meta[STAMP].split(":", 2)
    other = "0" * len(boot) if boot != "0" * len(boot) else "1" * len(boot)
    for meta in ({**ref.meta, STAMP: f"{version}:{other}:{rest}"}, {}):
        moved = replace(ref, meta=meta)
        assert fetched_checksum(store, moved) == ref.checksum
        assert np.array_equal(store.get(moved), VALUE)


def _flip_in_place(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0x01]))


def _flip_through_a_map(path: Path) -> None:
    with path.open("r+b") as f, mmap.mmap(f.fileno(), 0) as mapped:
        mapped[-1] ^= 0x01
        mapped.flush()


def _flip_and_set_times_back(path: Path) -> None:
    before = path.stat()
    _flip_in_place(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _replace_with_same_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    other = path.with_name("other")
    other.write_bytes(bytes(data))
    os.replace(other, path)


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _extend(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"\0")


CHANGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "byte flipped in place": (_flip_in_place, "does not match its checksum"),
    "byte flipped through a shared map": (_flip_through_a_map, "does not match its checksum"),
    "times set back after a change": (_flip_and_set_times_back, "does not match its checksum"),
    "replaced by a file of the same size": (_replace_with_same_size, "does not match"),
    "truncated": (_truncate, "truncated or altered"),
    "extended": (_extend, "truncated or altered"),
    "deleted": (Path.unlink, "is missing"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_file_changed_after_its_stamp_is_refused(tmp_path: Path, change: str) -> None:
    store = FsspecArtifactStore(tmp_path / "artifacts")
    ref, path = stamped(store)
    act, expected = CHANGES[change]
    act(path)
    with pytest.raises(IntegrityError, match=expected) as caught:
        store.get(ref)
    assert PRODUCER in str(caught.value)


def test_a_file_not_older_than_its_rename_gets_no_stamp(tmp_path: Path) -> None:
    """A file modified in the tick of its rename: a change in that tick would not move its
    modification time, so it is hashed on every read."""
    store = FsspecArtifactStore(tmp_path / "artifacts")
    ref = store.put(VALUE, producer=PRODUCER)
    path = Path(store.local_root or "") / (ref.location or "")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # mtime after the ctime
    again = store.put(VALUE, producer=PRODUCER)
    assert STAMP not in again.meta
    assert fetched_checksum(store, again) == ref.checksum
    assert np.array_equal(store.get(again), VALUE)
