"""Where artifact bytes live: a local folder (plain ``os`` calls, for control over fsync and
rename) or any fsspec filesystem (``s3://``, ``gs://``, ``memory://``...).

Both take a finished :class:`~legato.store.artifacts.spool.Spool` and make its bytes appear
at a location all at once, or not at all:

- local: the spool's temporary file is ``<root>/tmp/<name>.tmp`` (same filesystem as
  ``objects/``, named after the writing process: :mod:`~legato.store.artifacts.temps`, which
  also removes those of writers that died); it is flushed and fsynced, renamed over
  ``objects/<hh>/<digest>.<ext>`` (``os.replace`` is atomic), and the folder is fsynced so
  the rename survives a crash;
- object stores (S3, GCS, Azure): the bytes are uploaded straight to their final key; an
  object only becomes visible when its upload completes (multipart uploads are aborted on
  failure), so no temporary key is needed;
- other fsspec filesystems: upload to ``<root>/tmp/<name>.tmp`` (named the same way), then
  ``mv`` to the final key. A writer killed between the two leaves its key behind: remote
  stores are not swept (a listing costs a request, and a key's age is all that could be
  judged there), so such keys stay until removed by hand.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from legato.store.artifacts.spool import Spool
from legato.store.artifacts.stamps import stamp_file, unchanged
from legato.store.artifacts.temps import temp_name
from legato.store.hashing import Hasher, checksum_bytes, checksum_mapped

__all__ = ["Backend", "Fetched", "FsspecBackend", "LocalBackend", "open_backend"]

_OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
_MEMORY_SPOOL = 8 * 1024 * 1024
"""Remote stores keep values up to this size in memory before uploading them."""
_BUFFER = 1024 * 1024
_DOWNLOAD_CHUNK = 8 * 1024 * 1024


@dataclass(slots=True)
class Fetched:
    """An artifact's bytes, read once and hashed on the way: in memory (``data``) or in a
    local file (``path``; ``temporary`` when it is a download to delete after loading)."""

    checksum: str | None
    """None when the file was not read: it still has the stamp its writer noted, so the
    checksum the writer computed holds."""
    size: int
    data: bytes | None = None
    path: Path | None = None
    temporary: bool = False

    def release(self) -> None:
        """Delete a downloaded copy (a memory map of it stays valid on POSIX)."""
        if self.temporary and self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class Backend(Protocol):
    """What the artifact store needs from where the bytes live."""

    url: str

    def new_spool(self, inline_limit: int) -> Spool:
        """A spool for one value; values up to ``inline_limit`` bytes must stay in memory."""
        ...

    def commit(self, spool: Spool, location: str) -> str | None:
        """Make the spool's bytes appear at ``location`` atomically (or find them there
        already), then discard the spool. Returns the file's stamp where a reader of this
        machine can trust the spool's checksum (:mod:`~legato.store.artifacts.stamps`)."""
        ...

    def fetch(self, location: str, size: int, stamp: str | None = None) -> Fetched:
        """Read (and hash) the artifact at ``location``, expected to be ``size`` bytes long:
        ``FileNotFoundError`` if missing. ``stamp``: what its writer noted of its file, if
        anything; ``Fetched.checksum`` is None when the file still has that stamp (the
        writer's checksum holds, nothing was read)."""
        ...

    def checksum(self, location: str) -> tuple[str, int]:
        """Checksum and size of the artifact at ``location`` (``FileNotFoundError``)."""
        ...

    def describe(self, location: str) -> str:
        """``location`` as a full URL, for messages."""
        ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBackend:
    """A folder on a local disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()
        self.temp_folder = root / "tmp"
        """Where writes go before they are renamed into ``objects/``."""

    @staticmethod
    def _ensure_dir(path: Path) -> None:
        """Make ``path`` (and missing parents); fsync the parent of each folder made, so the
        new entry survives a crash too."""
        try:
            path.mkdir()
        except FileExistsError:
            return
        except FileNotFoundError:
            LocalBackend._ensure_dir(path.parent)
            with contextlib.suppress(FileExistsError):
                path.mkdir()
        _fsync_dir(path.parent)

    def _make_temp(self) -> tuple[Path, BinaryIO]:
        self._ensure_dir(self.temp_folder)
        path = self.temp_folder / temp_name()
        return path, open(path, "xb", buffering=_BUFFER)

    def new_spool(self, inline_limit: int) -> Spool:
        """Bytes beyond ``inline_limit`` go to ``<root>/tmp/<name>.tmp``."""
        return Spool(inline_limit, self._make_temp, durable=True)

    def commit(self, spool: Spool, location: str) -> str | None:
        """fsync the temporary file, rename it into place, fsync the folder; the file's
        stamp. An existing artifact with the same checksum is kept (and a damaged one
        replaced)."""
        final = self.root / location
        try:
            if final.exists():
                stamp = stamp_file(final)  # before hashing: a change meanwhile voids it
                if checksum_mapped(final) == (spool.checksum, spool.size):
                    return stamp if stamp is not None and unchanged(final, stamp) else None
            data = spool.data
            if data is not None:  # small values stay in memory: write them out now
                path, f = self._make_temp()
                spool.path = path  # so that discard() deletes it on failure
                with f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            else:
                spool.seal(fsync=True)
            self._ensure_dir(final.parent)
            source = spool.detach_path()
            assert source is not None
            try:
                os.replace(source, final)
            except BaseException:
                spool.path = source
                raise
            _fsync_dir(final.parent)
            return stamp_file(final)
        finally:
            spool.discard()

    def fetch(self, location: str, size: int, stamp: str | None = None) -> Fetched:
        """The file in place, hashed (memory-mapped) unless it still has the stamp its
        writer noted; the value is loaded from the same file."""
        path = self.root / location
        if stamp is not None and unchanged(path, stamp):
            return Fetched(checksum=None, size=size, path=path)
        checksum, size = checksum_mapped(path)
        return Fetched(checksum=checksum, size=size, path=path)

    def checksum(self, location: str) -> tuple[str, int]:
        """Hash the file (memory-mapped)."""
        return checksum_mapped(self.root / location)

    def describe(self, location: str) -> str:
        """``file:///root/objects/...``."""
        return f"{self.url}/{location}"


class FsspecBackend:
    """Any fsspec filesystem: ``s3://bucket/prefix``, ``memory://name``..."""

    def __init__(self, url: str, fs: Any, root: str) -> None:
        self.url = url
        self.fs = fs
        self.root = root.rstrip("/")
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        self.object_store = bool(_OBJECT_STORES.intersection(protocols))

    def _key(self, location: str) -> str:
        return f"{self.root}/{location}"

    @staticmethod
    def _make_temp() -> tuple[Path, BinaryIO]:
        fd, name = tempfile.mkstemp(prefix="legato-artifact-", suffix=".tmp")
        return Path(name), os.fdopen(fd, "wb", buffering=_BUFFER)

    def new_spool(self, inline_limit: int) -> Spool:
        """Values up to 8 MiB (or ``inline_limit`` if larger) stay in memory; larger ones go
        to a local temporary file before upload."""
        return Spool(max(inline_limit, _MEMORY_SPOOL), self._make_temp)

    def commit(self, spool: Spool, location: str) -> None:
        """Upload to the final key (object stores) or to ``tmp/`` then ``mv``; no stamp:
        every read of a remote object hashes it."""
        key = self._key(location)
        try:
            try:
                self.fs.invalidate_cache(key)  # a listing cached by anyone could be stale
                if self.fs.info(key).get("size") == spool.size:
                    return  # content-addressed: same key and size, same bytes
            except FileNotFoundError:
                pass
            target = key if self.object_store else self._key(f"tmp/{temp_name()}")
            data = spool.data
            try:
                if data is not None:
                    self.fs.pipe_file(target, data)
                else:
                    spool.seal(fsync=False)
                    assert spool.path is not None
                    self.fs.put_file(str(spool.path), target)
                if target != key:
                    self.fs.mv(target, key)
            except BaseException:
                if target != key:
                    with contextlib.suppress(Exception):
                        self.fs.rm_file(target)
                raise
        finally:
            spool.discard()
            self.fs.invalidate_cache(key)

    def fetch(self, location: str, size: int, stamp: str | None = None) -> Fetched:
        """Small artifacts into memory (one request); large ones streamed into a local
        temporary file, hashed on the way (``stamp`` is ignored: the bytes left the
        machine)."""
        key = self._key(location)
        self.fs.invalidate_cache(key)
        if size <= _MEMORY_SPOOL:
            data = bytes(self.fs.cat_file(key))
            return Fetched(checksum=checksum_bytes(data), size=len(data), data=data)
        path, out = self._make_temp()
        hasher = Hasher()
        try:
            with out, self.fs.open(key, "rb", block_size=_DOWNLOAD_CHUNK) as f:
                while chunk := f.read(_DOWNLOAD_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Fetched(checksum=hasher.checksum(), size=hasher.size, path=path, temporary=True)

    def checksum(self, location: str) -> tuple[str, int]:
        """Stream the object through the hash (nothing kept)."""
        hasher = Hasher()
        self.fs.invalidate_cache(self._key(location))
        with self.fs.open(self._key(location), "rb", block_size=_DOWNLOAD_CHUNK) as f:
            while chunk := f.read(_DOWNLOAD_CHUNK):
                hasher.update(chunk)
        return hasher.checksum(), hasher.size

    def describe(self, location: str) -> str:
        """``s3://bucket/prefix/objects/...``."""
        return f"{self.url.rstrip('/')}/{location}"


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def open_backend(url: str | os.PathLike[str], storage_options: dict[str, Any]) -> Backend:
    """The backend for ``url``: a plain path or ``file://`` URL is a local folder (made on
    the first write; relative paths are resolved now, so workers started elsewhere agree), anything
    else goes through ``fsspec.url_to_fs`` with ``storage_options``."""
    text = os.fspath(url)
    if _is_local(text):
        if text.startswith("file://"):
            text = text.removeprefix("file://")
        return LocalBackend(Path(text).expanduser().resolve())
    fsspec = importlib.import_module("fsspec")
    fs, root = fsspec.core.url_to_fs(text, **storage_options)
    return FsspecBackend(text, fs, root)
