"""Checksums of artifacts and fingerprints of file and folder inputs (xxh3-128)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

from legato.store import hashing
from legato.store.hashing import (
    CHECKSUM_PATTERN,
    Hasher,
    checksum_bytes,
    checksum_file,
    checksum_mapped,
    fingerprint_path,
    forget_fingerprints,
)

OLD_NS = 1_600_000_000 * 10**9  # long enough ago for the memo to trust the timestamp


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    forget_fingerprints()
    yield
    forget_fingerprints()


def write_old(path: Path, data: bytes) -> None:
    """Write ``data`` and set the file's mtime far in the past."""
    path.write_bytes(data)
    os.utime(path, ns=(OLD_NS, OLD_NS))


def test_checksums_are_tagged_xxh3_128_hex() -> None:
    checksum = checksum_bytes(b"legato")
    assert checksum == f"xxh3_128:{xxhash.xxh3_128_hexdigest(b'legato')}"
    assert CHECKSUM_PATTERN.fullmatch(checksum)
    assert checksum_bytes(b"legato!") != checksum


def test_streaming_and_mapped_checksums_equal_the_one_shot(tmp_path: Path) -> None:
    data = os.urandom(9 * 1024 * 1024 + 123)  # more than one 8 MiB piece
    path = tmp_path / "blob"
    path.write_bytes(data)
    expected = checksum_bytes(data)
    assert checksum_file(path) == expected
    assert checksum_file(str(path)) == expected
    assert checksum_file(io.BytesIO(data)) == expected
    with path.open("rb") as f:
        assert checksum_file(f) == expected
    assert checksum_mapped(path) == (expected, len(data))
    hasher = Hasher()
    for start in range(0, len(data), 1_000_000):
        hasher.update(memoryview(data)[start : start + 1_000_000])
    assert (hasher.checksum(), hasher.size) == (expected, len(data))


def test_empty_files_hash_like_empty_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.touch()
    assert checksum_file(path) == checksum_mapped(path)[0] == checksum_bytes(b"")


def test_a_file_fingerprint_is_its_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert fingerprint_path(path) == checksum_bytes(b"a,b\n1,2\n")
    renamed = tmp_path / "other.csv"
    path.rename(renamed)
    assert fingerprint_path(renamed) == checksum_bytes(b"a,b\n1,2\n")


def make_tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    (root / "sub" / "b.txt").write_bytes(b"b")
    (root / "sub" / "deeper" / "c.bin").write_bytes(b"\0" * 100)
    return root


def test_a_folder_fingerprint_depends_on_paths_and_contents_only(tmp_path: Path) -> None:
    first = make_tree(tmp_path / "one")
    second = make_tree(tmp_path / "two")
    fp = fingerprint_path(first)
    assert CHECKSUM_PATTERN.fullmatch(fp)
    assert fingerprint_path(second) == fp  # where the folder is does not matter

    (second / "sub" / "b.txt").write_bytes(b"B")
    assert fingerprint_path(second) != fp
    (second / "sub" / "b.txt").write_bytes(b"b")
    assert fingerprint_path(second) == fp

    (second / "sub" / "b.txt").rename(second / "sub" / "renamed.txt")
    assert fingerprint_path(second) != fp
    (second / "sub" / "renamed.txt").rename(second / "sub" / "b.txt")

    (second / "empty").mkdir()
    assert fingerprint_path(second) != fp
    (second / "empty").rmdir()
    assert fingerprint_path(second) == fp


def test_moving_a_file_between_folders_changes_the_fingerprint(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    fp = fingerprint_path(root)
    (root / "a.txt").rename(root / "sub" / "a.txt")
    assert fingerprint_path(root) != fp


def test_symlinks_are_never_followed_into_folders(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "huge.bin").write_bytes(b"x" * 1000)
    (root / "loop").symlink_to(root)  # a cycle
    (root / "escape").symlink_to(outside)  # out of the tree
    (root / "dangling").symlink_to(tmp_path / "nothing")
    fp = fingerprint_path(root)
    (outside / "huge.bin").write_bytes(b"y" * 1000)
    assert fingerprint_path(root) == fp  # what the link points into does not count
    (root / "escape").unlink()
    (root / "escape").symlink_to(tmp_path)
    assert fingerprint_path(root) != fp  # where it points does


def test_a_symlinked_file_counts_as_its_content(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    target = tmp_path / "weights.bin"
    target.write_bytes(b"v1")
    (root / "weights.bin").symlink_to(target)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "weights.bin").write_bytes(b"v1")
    assert fingerprint_path(root) == fingerprint_path(copy)
    target.write_bytes(b"v2")
    assert fingerprint_path(root) != fingerprint_path(copy)


def test_special_files_are_never_read(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    os.mkfifo(root / "pipe")  # reading it would block forever
    assert CHECKSUM_PATTERN.fullmatch(fingerprint_path(root))
    with pytest.raises(ValueError, match="neither a regular file nor a folder"):
        fingerprint_path(root / "pipe")
    with pytest.raises(FileNotFoundError):
        fingerprint_path(tmp_path / "missing")


def test_an_unchanged_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.bin"
    write_old(path, b"x" * 4096)
    reads: list[object] = []
    real = hashing._checksum_stream

    def counting(f: object) -> str:
        reads.append(f)
        return real(f)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "_checksum_stream", counting)
    first = fingerprint_path(path)
    assert fingerprint_path(path) == first
    assert fingerprint_path(tmp_path) == fingerprint_path(tmp_path)
    assert len(reads) == 1

    path.write_bytes(b"y" * 4096)  # rewritten in place: same size and inode, new mtime
    os.utime(path, ns=(OLD_NS + 1, OLD_NS + 1))
    assert fingerprint_path(path) == checksum_bytes(b"y" * 4096)
    assert len(reads) == 2

    path.write_bytes(b"z" * 4097)  # a size change is seen at once
    assert fingerprint_path(path) == checksum_bytes(b"z" * 4097)


def test_a_file_modified_just_now_is_not_remembered(tmp_path: Path) -> None:
    path = tmp_path / "fresh.bin"
    path.write_bytes(b"a" * 100)
    stamp = path.stat().st_mtime_ns
    assert fingerprint_path(path) == checksum_bytes(b"a" * 100)
    path.write_bytes(b"b" * 100)  # same size, and within the same timestamp tick
    os.utime(path, ns=(stamp, stamp))
    assert fingerprint_path(path) == checksum_bytes(b"b" * 100)


def test_the_memo_is_keyed_by_inode_too(tmp_path: Path) -> None:
    path = tmp_path / "swapped.bin"
    write_old(path, b"a" * 100)
    assert fingerprint_path(path) == checksum_bytes(b"a" * 100)
    replacement = tmp_path / "new.bin"
    write_old(replacement, b"b" * 100)  # same size and mtime, another inode
    replacement.replace(path)
    assert fingerprint_path(path) == checksum_bytes(b"b" * 100)


def test_hashing_runs_at_memory_speed() -> None:
    data = bytes(64 * 1024 * 1024)
    start = time.perf_counter()
    checksum_bytes(data)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"64 MiB took {elapsed:.3f}s: xxh3 should hash GB/s"
