"""The spool serialisers write into: hashing on the way, memory then a temporary file."""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from legato.store.artifacts import spool as spool_module
from legato.store.artifacts.spool import Spool
from legato.store.hashing import checksum_bytes

MIB = 1024 * 1024


def factory(folder: Path) -> tuple[list[Path], spool_module.TempFileFactory]:
    made: list[Path] = []

    def make() -> tuple[Path, BinaryIO]:
        path = folder / f"t{len(made)}.tmp"
        made.append(path)
        return path, path.open("xb")

    return made, make


def test_small_values_stay_in_memory(tmp_path: Path) -> None:
    made, make = factory(tmp_path)
    spool = Spool(10, make)
    spool.write(b"0123456789")
    assert (spool.data, spool.size, spool.path, made) == (b"0123456789", 10, None, [])
    assert spool.checksum == checksum_bytes(b"0123456789")


def test_large_values_spill_to_one_file_hashed_on_the_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "_FLUSH_EVERY", 2 * MIB)  # flush in the background too
    made, make = factory(tmp_path)
    spool = Spool(100, make, durable=True)
    buffer = bytearray(MIB)
    expected = bytearray()
    for i in range(7):
        buffer[:] = bytes([i]) * MIB  # reused at once: write() must have finished with it
        spool.write(buffer)
        expected += buffer
        spool.write(b"tail")
        expected += b"tail"
    assert spool.data is None
    assert spool.tell() == spool.size == len(expected)
    spool.seal(fsync=True)
    assert made == [spool.path]
    assert made[0].read_bytes() == expected
    assert spool.checksum == checksum_bytes(bytes(expected))
    spool.discard()
    assert not made[0].exists()


def test_writes_of_any_buffer_shape_count_their_bytes(tmp_path: Path) -> None:
    import numpy as np

    _, make = factory(tmp_path)
    spool = Spool(0, make)
    array = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert spool.write(memoryview(array)) == array.nbytes
    spool.seal(fsync=False)
    assert spool.checksum == checksum_bytes(array.tobytes())


class FullDisk(io.FileIO):
    def write(self, b: object, /) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("size", [10, 2 * MIB], ids=["buffered", "parallel"])
def test_a_write_error_is_recorded_and_discard_removes_the_file(tmp_path: Path, size: int) -> None:
    made: list[Path] = []

    def make() -> tuple[Path, BinaryIO]:
        made.append(tmp_path / "full.tmp")
        return made[0], cast(BinaryIO, FullDisk(made[0], "x"))

    spool = Spool(0, make)
    with pytest.raises(OSError, match="No space left"):
        spool.write(b"y" * size)
    assert isinstance(spool.failure, OSError)
    assert spool.failure.errno == errno.ENOSPC
    spool.discard()
    assert not made[0].exists()
