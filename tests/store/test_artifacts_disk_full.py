"""A real full disk: a 1 MiB tmpfs mounted for the test (needs root and permission to mount;
skipped with the reason otherwise)."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from legato.errors import StoreError
from legato.store.artifacts import FsspecArtifactStore

SIZE = 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards."""
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs Linux and mount(8)")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'not permitted'}")
    try:
        yield mount_point
    finally:
        gc.collect()  # drop memory maps of files on it
        if subprocess.run(["umount", str(mount_point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_space(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_a_full_disk_fails_the_put_cleanly_and_a_retry_succeeds(tiny_disk: Path) -> None:
    store = FsspecArtifactStore(tiny_disk / "store")
    kept_value = np.arange(20_000, dtype=np.int64)  # 160 KB
    kept = store.put(kept_value, producer="run-1/prepare#1")
    assert kept.location is not None

    filler = tiny_disk / "filler"
    free = free_space(tiny_disk)
    filler.write_bytes(b"\0" * (free - 100 * 1024))  # leave 100 KB
    big = np.random.default_rng(0).random(60_000)  # 480 KB: does not fit

    for attempt in (1, 2):  # the space a failed put took is given back: it fails the same
        with pytest.raises(StoreError) as caught:
            store.put(big, producer="run-1/train#1")
        assert free_space(tiny_disk) == 100 * 1024, f"attempt {attempt} leaked space"
    message = str(caught.value)
    assert message.startswith("no space left on the device")
    assert "run-1/train#1" in message
    assert "retry" in message
    assert isinstance(caught.value.__cause__, OSError)

    # no partial file anywhere: only the earlier artifact, and tmp/ is empty
    assert files_under(tiny_disk / "store") == [kept.location]
    store.verify(kept)
    assert np.array_equal(store.get(kept), kept_value)

    filler.unlink()
    ref = store.put(big, producer="run-1/train#2")
    assert np.array_equal(store.get(ref), big)
    assert files_under(tiny_disk / "store") == sorted([kept.location, ref.location or ""])


def test_a_full_disk_while_writing_a_pickle_is_reported_the_same_way(tiny_disk: Path) -> None:
    store = FsspecArtifactStore(tiny_disk / "store")
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * (SIZE - 64 * 1024))
    value = {"blob": os.urandom(200 * 1024)}  # not an array: cloudpickle writes it
    with pytest.raises(StoreError, match=r"^no space left on the device"):
        store.put(value, producer="run-1/report#1")
    assert files_under(tiny_disk / "store") == []
    filler.unlink()
    assert store.get(store.put(value, producer="run-1/report#2")) == value
