"""Content hashes: xxh3-128, which runs at memory speed, written ``xxh3_128:<32 hex digits>``.

- :func:`checksum_bytes` and :func:`checksum_file` hash serialised artifacts (the checksum
  verified on every read, and an output's content hash in cache keys);
- :func:`fingerprint_path` hashes file and folder *inputs*. It remembers, per process, the hash
  of every file it has read, keyed by (path, size, mtime, inode, device), so an unchanged
  multi-GB file is read once, not once per cache-key computation.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import stat
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

import xxhash

__all__ = [
    "ALGORITHM",
    "BytesLike",
    "CHECKSUM_PATTERN",
    "Hasher",
    "checksum_bytes",
    "checksum_file",
    "checksum_mapped",
    "fingerprint_path",
    "forget_fingerprints",
]

ALGORITHM = "xxh3_128"
"""The one hash algorithm; its name prefixes every checksum."""

CHECKSUM_PATTERN = re.compile(r"xxh3_128:[0-9a-f]{32}")
"""What a well-formed checksum looks like (use ``fullmatch``)."""

BytesLike = bytes | bytearray | memoryview
"""What can be hashed (wrap an array in ``memoryview`` first)."""

_CHUNK = 8 * 1024 * 1024
_MAPPED_CHUNK = 64 * 1024 * 1024
_MEMO_SIZE = 16_384
_RACY_NS = 2_000_000_000
"""A file modified less than this long before it was hashed may still be changing within
the same mtime tick, so its hash is not remembered (git's "racily clean" rule)."""


class Hasher:
    """An incremental checksum, fed in pieces: ``update`` then ``checksum``."""

    __slots__ = ("_state", "size")

    def __init__(self) -> None:
        self._state = xxhash.xxh3_128()
        self.size = 0
        """Bytes hashed so far."""

    def update(self, data: BytesLike) -> None:
        """Hash ``data``."""
        self._state.update(data)
        self.size += data.nbytes if isinstance(data, memoryview) else len(data)

    def checksum(self) -> str:
        """``xxh3_128:<hex>`` of everything hashed so far."""
        return f"{ALGORITHM}:{self._state.hexdigest()}"


def checksum_bytes(data: BytesLike) -> str:
    """``xxh3_128:<hex>`` of ``data``."""
    return f"{ALGORITHM}:{xxhash.xxh3_128_hexdigest(data)}"


def checksum_file(source: str | os.PathLike[str] | BinaryIO) -> str:
    """``xxh3_128:<hex>`` of a file's content, read in 8 MiB pieces (constant memory).

    ``source`` is a path or a binary file object, read from its current position to its end.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb", buffering=0) as f:
            return _checksum_stream(f)
    return _checksum_stream(source)


def checksum_mapped(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Checksum and size of a local file read through a memory map (no copy into a buffer:
    about twice as fast as :func:`checksum_file` on cached data).

    For legato's own artifact files only: if another process truncated the file while it is
    mapped, reading it would raise ``SIGBUS``.
    """
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return checksum_bytes(b""), 0
        hasher = Hasher()
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for start in range(0, len(view), _MAPPED_CHUNK):
                    hasher.update(view[start : start + _MAPPED_CHUNK])
            finally:
                view.release()
        return hasher.checksum(), hasher.size


def _checksum_stream(f: BinaryIO | io.RawIOBase) -> str:
    hasher = Hasher()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    readinto = getattr(f, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            hasher.update(view[:n])
        else:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            hasher.update(chunk)
    return hasher.checksum()


# -- fingerprints of input paths ---------------------------------------------------------------

_MemoKey = tuple[str, int, int, int, int]
_memo: OrderedDict[_MemoKey, str] = OrderedDict()
_memo_lock = threading.Lock()


def forget_fingerprints() -> None:
    """Empty the per-process memo of file hashes (tests; or after editing files in place
    within the same second on a filesystem with coarse timestamps)."""
    with _memo_lock:
        _memo.clear()


def fingerprint_path(path: str | os.PathLike[str]) -> str:
    """A content hash of a file or a folder given as a task input.

    A file: the checksum of its bytes (its name does not count). A folder: the hash of its
    sorted relative paths with, for each regular file, its content hash; empty folders count.
    Symbolic links inside a folder are never followed into folders (no cycles, no walking out
    of the tree): a link to a regular file counts as that file's content, any other link as
    its target text. Special files (FIFOs, devices, sockets) are never read. Raises
    ``FileNotFoundError`` if ``path`` does not exist and ``ValueError`` for a special file.
    """
    p = Path(path)
    st = p.stat()
    if stat.S_ISREG(st.st_mode):
        return _file_hash(p, st)
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{p} is neither a regular file nor a folder: it cannot be hashed")
    tree = xxhash.xxh3_128()
    tree.update(b"legato-tree-v1\0")
    _hash_tree(p, b"", tree)
    return f"{ALGORITHM}:{tree.hexdigest()}"


def _hash_tree(folder: Path, prefix: bytes, tree: xxhash.xxh3_128) -> None:
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: os.fsencode(e.name))
    for entry in entries:
        rel = prefix + os.fsencode(entry.name)
        if entry.is_symlink():
            target = os.fsencode(os.readlink(entry.path))
            try:
                st = os.stat(entry.path)
            except OSError:
                st = None
            if st is not None and stat.S_ISREG(st.st_mode):
                digest = _file_hash(Path(entry.path), st).encode()
                tree.update(b"f\0" + rel + b"\0" + digest + b"\n")
            else:
                tree.update(b"l\0" + rel + b"\0" + target + b"\n")
        elif entry.is_dir(follow_symlinks=False):
            tree.update(b"d\0" + rel + b"\n")
            _hash_tree(Path(entry.path), rel + b"/", tree)
        elif entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            digest = _file_hash(Path(entry.path), st).encode()
            tree.update(b"f\0" + rel + b"\0" + digest + b"\n")
        else:
            tree.update(b"s\0" + rel + b"\n")


def _file_hash(path: Path, st: os.stat_result) -> str:
    key: _MemoKey = (
        os.path.realpath(path),
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        st.st_dev,
    )
    with _memo_lock:
        known = _memo.get(key)
        if known is not None:
            _memo.move_to_end(key)
            return known
    started = time.time_ns()
    with open(path, "rb", buffering=0) as f:
        after = os.fstat(f.fileno())
        digest = _checksum_stream(f)
    changed = (after.st_size, after.st_mtime_ns, after.st_ino) != (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )
    if not changed and started - st.st_mtime_ns >= _RACY_NS:
        with _memo_lock:
            _memo[key] = digest
            if len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    return digest
