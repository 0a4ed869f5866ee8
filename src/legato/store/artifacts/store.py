"""The artifact store: task outputs as checksummed, immutable, content-addressed artifacts."""

from __future__ import annotations

import errno
import itertools
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from legato.errors import IntegrityError, SerializationError, StoreError
from legato.model.artifacts import INLINE_LIMIT, ArtifactRef, shared_meta
from legato.store.artifacts.backends import Backend, Fetched, LocalBackend, open_backend
from legato.store.artifacts.builtin import json_bytes
from legato.store.artifacts.messages import UNTRUSTED, by, rerun, rewrite, versions
from legato.store.artifacts.registry import SerializerRegistry, default_registry
from legato.store.artifacts.serializers import Serializer, UnsupportedValueError, written_meta
from legato.store.artifacts.spool import Spool
from legato.store.artifacts.stamps import STAMP
from legato.store.artifacts.temps import Swept, TempFile, scan, sweep, sweep_once
from legato.store.hashing import CHECKSUM_PATTERN, checksum_bytes

__all__ = ["DEFAULT_URL", "FsspecArtifactStore", "check_location", "location_for"]

DEFAULT_URL = ".legato/artifacts"
"""Where artifacts go when no URL is configured (relative to the working directory)."""

_LOCATION = re.compile(r"objects/([0-9a-f]{2})/([0-9a-f]{32})\.[a-z0-9]{1,16}")
_FULL = (errno.ENOSPC, errno.EDQUOT)
_SCALARS = frozenset({int, float, str, bool, type(None)})
_JSON_AT_ONCE = 4096
"""Values ``put_json_list`` encodes in one piece."""


def location_for(checksum: str, extension: str) -> str:
    """The only locations legato assigns: ``objects/<first 2 hex>/<32 hex>.<extension>``."""
    digest = checksum.split(":", 1)[-1]
    return f"objects/{digest[:2]}/{digest}.{extension}"


def check_location(ref: ArtifactRef) -> None:
    """Refuse a reference legato cannot have written (``IntegrityError``): a malformed
    checksum, or a location other than ``objects/<hh>/<its digest>.<ext>``, which rules out
    ``..``, absolute paths, other buckets, ``file:`` URLs, backslashes and NUL bytes.
    Exactly one of ``inline`` and ``location`` is set."""
    producer = ref.producer or "an unknown task"
    if not isinstance(ref.checksum, str) or not CHECKSUM_PATTERN.fullmatch(ref.checksum):
        raise IntegrityError(
            f"artifact reference written for {producer} has a malformed checksum "
            f"{ref.checksum!r} (expected xxh3_128:<32 hex digits>): the reference was "
            f"altered, so nothing was read. {rerun(ref)}"
        )
    if (ref.inline is None) == (ref.location is None):
        raise IntegrityError(
            f"artifact reference {ref.checksum} of {producer} must have either inline bytes "
            "or a location, not both nor neither: the reference was altered, so nothing "
            f"was read. {rerun(ref)}"
        )
    if ref.location is None:
        return
    match = _LOCATION.fullmatch(ref.location) if isinstance(ref.location, str) else None
    if match is None or match[2] != ref.digest or match[1] != ref.digest[:2]:
        raise IntegrityError(
            f"artifact reference {ref.checksum} of {producer} points at {ref.location!r}, "
            f"a location legato never assigns (it would be "
            f"{location_for(ref.checksum, '<ext>')!r}): the reference was altered, so "
            f"nothing was read. {rerun(ref)}"
        )


class FsspecArtifactStore:
    """Task outputs in a local folder (``.legato/artifacts`` by default), or at any fsspec
    URL: ``s3://bucket/prefix`` (install ``legato[s3]``), ``memory://name``...

    - ``put`` serialises with the first serialiser of the registry that accepts the value,
      hashing as it writes; outputs up to ``inline_limit`` bytes stay inline in the
      reference (they travel through the run store), larger ones are written once, at
      ``objects/<hh>/<digest>.<ext>``, atomically;
    - ``get`` verifies the checksum before deserialising; ``verify`` only checks. A local
      file that still has the stamp its writer noted in this boot is not hashed again by
      ``get``: the writer's checksum, computed as it wrote, holds for it
      (:mod:`~legato.store.artifacts.stamps`); ``verify`` always reads every byte.

    Opening a local store removes the temporary files that writers killed mid-write left in
    its ``tmp/`` folder (once per process and folder; see
    :mod:`~legato.store.artifacts.temps` for how a live writer's files are told apart). A
    ``read_only`` store does not, and refuses ``put``: what commands that only read open.

    Thread-safe (no mutable state). Pickles as its URL and options, so a worker process
    rebuilds it: ``FsspecArtifactStore(store.url, storage_options, inline_limit)`` is the
    same store.
    """

    def __init__(
        self,
        url: str | os.PathLike[str] = DEFAULT_URL,
        storage_options: Mapping[str, Any] | None = None,
        inline_limit: int = INLINE_LIMIT,
        registry: SerializerRegistry | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        if inline_limit < 0:
            raise ValueError(f"inline_limit must be >= 0, not {inline_limit}")
        self.storage_options = dict(storage_options or {})
        self.inline_limit = inline_limit
        """Serialised outputs up to this many bytes stay inline in their reference."""
        self.registry = registry if registry is not None else default_registry
        self._backend: Backend = open_backend(url, self.storage_options)
        self.url = self._backend.url
        """Absolute ``file://`` URL of a local store; the URL as given otherwise."""
        self.read_only = read_only
        """Whether this store only reads (``put`` refused, nothing swept)."""
        if not read_only and isinstance(self._backend, LocalBackend):
            sweep_once(self._backend.temp_folder)

    def __repr__(self) -> str:
        return f"FsspecArtifactStore({self.url!r}, inline_limit={self.inline_limit})"

    def __reduce__(self) -> tuple[Any, ...]:
        registry = None if self.registry is default_registry else self.registry
        return (
            _reopen,
            (self.url, self.storage_options, self.inline_limit, registry, self.read_only),
        )

    # -- temporary files -----------------------------------------------------------------------

    def temp_files(self) -> list[TempFile]:
        """The temporary files of writes in a local store's ``tmp/`` folder, each saying
        whether it is an orphan (its writer is gone); none for a remote store, which is not
        looked at (see :mod:`~legato.store.artifacts.backends`)."""
        backend = self._backend
        return scan(backend.temp_folder) if isinstance(backend, LocalBackend) else []

    def sweep(self) -> Swept:
        """Remove the orphaned temporary files of a local store now (opening a writable store
        does it once per process); nothing for a remote one."""
        backend = self._backend
        return sweep(backend.temp_folder) if isinstance(backend, LocalBackend) else Swept()

    # -- writing -------------------------------------------------------------------------------

    def put(self, obj: Any, *, producer: str) -> ArtifactRef:
        """Store ``obj`` and return its reference. ``producer`` (``run_id/task_key#attempt``)
        is recorded for error messages; it never becomes part of a path.

        Raises ``StoreError`` when the value cannot be serialised or written (the message
        starts with ``no space left`` when the disk or quota is full); nothing partial is
        left behind and a retry can succeed.
        """
        self._writable(producer)
        if type(obj) in _SCALARS:
            ref = self._put_scalar(obj, producer)
            if ref is not None:
                return ref
        spool = self._backend.new_spool(self.inline_limit)
        try:
            serializer, details = self._serialize(obj, spool, producer)
            return self._stored(
                spool, serializer, {**written_meta(serializer), **details}, producer
            )
        finally:
            spool.discard()

    def put_json_list(self, values: Iterable[Any], *, producer: str) -> ArtifactRef:
        """Store the list of ``values`` as ``put`` stores it with the ``json`` serialiser
        (the same bytes, checksum and reference), encoding and writing a few thousand
        values at a time: for legato's own JSON (plain dicts of strings and numbers), such
        as the manifest of a split output, which a list of a million items would otherwise
        hold as a million dicts and one text at once."""
        self._writable(producer)
        serializer = self.registry.get("json")
        spool = self._backend.new_spool(self.inline_limit)
        try:
            try:
                spool.write(b"[")
                values = iter(values)
                first = True
                while chunk := list(itertools.islice(values, _JSON_AT_ONCE)):
                    text = json_bytes(chunk)[1:-1]
                    if text:  # an empty list's items write nothing
                        spool.write(text if first else b"," + text)
                        first = False
                spool.write(b"]")
            except Exception as e:
                if spool.failure is not None:
                    raise self._write_error(spool.failure, producer, spool.size) from e
                raise
            return self._stored(spool, serializer, dict(written_meta(serializer)), producer)
        finally:
            spool.discard()

    def _stored(
        self, spool: Spool, serializer: Serializer, meta: dict[str, str], producer: str
    ) -> ArtifactRef:
        """The reference of what ``spool`` holds: inline when small, else committed to its
        location."""
        data = spool.data
        if data is not None and len(data) <= self.inline_limit:
            return ArtifactRef(
                checksum=spool.checksum,
                size=spool.size,
                serializer=serializer.name,
                inline=data,
                producer=producer,
                meta=shared_meta(meta),
            )
        checksum, size = spool.checksum, spool.size
        location = location_for(checksum, serializer.extension)
        try:
            stamp = self._backend.commit(spool, location)
        except Exception as e:
            raise self._write_error(e, producer, size) from e
        if stamp is not None:
            meta[STAMP] = stamp
        return ArtifactRef(
            checksum=checksum,
            size=size,
            serializer=serializer.name,
            location=location,
            producer=producer,
            meta=meta,
        )

    def _writable(self, producer: str) -> None:
        if self.read_only:
            raise StoreError(
                f"the artifact store {self.url} was opened read-only: the output of "
                f"{producer} was not stored"
            )

    def _put_scalar(self, obj: Any, producer: str) -> ArtifactRef | None:
        """A scalar's reference made in one piece, when its serialiser can (``dump_small``)
        and the bytes stay inline: the same reference the general path makes, without a
        spool."""
        try:
            serializer = self.registry.choose(obj)
            dump_small = getattr(serializer, "dump_small", None)
            data = dump_small(obj) if dump_small is not None else None
        except Exception:  # the general path reports it, naming the producer
            return None
        if data is None or len(data) > self.inline_limit:
            return None
        return ArtifactRef(
            checksum=checksum_bytes(data),
            size=len(data),
            serializer=serializer.name,
            inline=data,
            producer=producer,
            meta=written_meta(serializer),
        )

    def _serialize(
        self, obj: Any, spool: Spool, producer: str
    ) -> tuple[Serializer, dict[str, str]]:
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        tried: list[str] = []
        try:
            for serializer in self.registry.candidates(obj):
                try:
                    details = serializer.dump(obj, spool)
                except UnsupportedValueError:
                    if spool.failure is not None:
                        raise
                    tried.append(serializer.name)
                    spool.restart()
                    continue
                return serializer, {str(k): str(v) for k, v in details.items()}
        except Exception as e:
            if spool.failure is not None:
                raise self._write_error(spool.failure, producer, spool.size) from e
            raise SerializationError(
                f"could not serialise the output of {producer} (a {kind}): "
                f"{type(e).__name__}: {e}. Return a value that can be pickled, or register a "
                "serializer for this type (legato.store.artifacts.register_serializer)."
            ) from e
        raise SerializationError(
            f"no serializer accepts the output of {producer} (a {kind}; declined by "
            f"{', '.join(tried) or 'none'}): register one, or keep the 'pickle' fallback "
            "registered."
        )

    def _write_error(self, e: BaseException, producer: str, size: int) -> StoreError:
        if isinstance(e, OSError) and e.errno in _FULL:
            return StoreError(
                f"no space left on the device holding the artifact store {self.url} while "
                f"writing the output of {producer} (at least {size:,} bytes): nothing was "
                "stored and the partial file was removed. Free some space (or point the "
                "store at a larger disk) and retry the task."
            )
        return StoreError(
            f"could not write the output of {producer} to the artifact store {self.url}: "
            f"{type(e).__name__}: {e}. Nothing was stored; retry once the store is reachable."
        )

    # -- reading -------------------------------------------------------------------------------

    def get(self, ref: ArtifactRef) -> Any:
        """Load the value of ``ref`` after verifying its checksum: ``IntegrityError`` naming
        the artifact and its producer when it is missing, truncated or altered (or the
        reference is malformed); ``StoreError`` when the store cannot be read or the bytes
        verify but cannot be deserialised here (unknown serialiser, library missing)."""
        check_location(ref)
        serializer = self._serializer(ref)
        fetched = self._fetch_verified(ref)
        try:
            if fetched.path is not None:
                return serializer.load(fetched.path, ref.meta)
            assert fetched.data is not None
            return serializer.load(fetched.data, ref.meta)
        except Exception as e:
            raise StoreError(
                f"artifact {self._describe(ref)} (produced by {by(ref)}) verified but the "
                f"{ref.serializer!r} serializer could not load it: "
                f"{type(e).__name__}: {e}. It was written with {versions(ref.meta)}; install "
                "compatible versions."
            ) from e
        finally:
            fetched.release()

    def verify(self, ref: ArtifactRef) -> None:
        """Check that the artifact exists and its checksum and size match, without
        deserialising it (``IntegrityError`` otherwise, ``StoreError`` if unreadable)."""
        check_location(ref)
        if ref.inline is not None:
            self._check(ref, checksum_bytes(ref.inline), len(ref.inline))
            return
        assert ref.location is not None
        try:
            checksum, size = self._backend.checksum(ref.location)
        except FileNotFoundError as e:
            raise self._missing(ref) from e
        except Exception as e:
            raise self._read_error(ref, e) from e
        self._check(ref, checksum, size)

    def _serializer(self, ref: ArtifactRef) -> Serializer:
        try:
            return self.registry.get(ref.serializer)
        except KeyError:
            raise StoreError(
                f"artifact {self._describe(ref)} (produced by {by(ref)}) was written by the "
                f"{ref.serializer!r} serializer, which is not "
                "registered in this process: register it (register_serializer) in the module "
                "that defines your tasks, so every worker has it."
            ) from None

    def _fetch_verified(self, ref: ArtifactRef) -> Fetched:
        if ref.inline is not None:
            self._check(ref, checksum_bytes(ref.inline), len(ref.inline))
            return Fetched(checksum=ref.checksum, size=ref.size, data=ref.inline)
        assert ref.location is not None
        try:
            fetched = self._backend.fetch(ref.location, ref.size, ref.meta.get(STAMP))
        except FileNotFoundError as e:
            raise self._missing(ref) from e
        except Exception as e:
            raise self._read_error(ref, e) from e
        if fetched.checksum is None:
            return fetched  # the very file its writer hashed, unchanged (see stamps.py)
        try:
            self._check(ref, fetched.checksum, fetched.size)
        except IntegrityError:
            fetched.release()
            raise
        return fetched

    def _check(self, ref: ArtifactRef, checksum: str, size: int) -> None:
        if size != ref.size:
            raise IntegrityError(
                f"artifact {self._describe(ref)} (produced by "
                f"{by(ref)}) is {size:,} bytes long instead of "
                f"{ref.size:,}: it was truncated or altered after it was written. "
                f"{UNTRUSTED} {rewrite(ref)}"
            )
        if checksum != ref.checksum:
            raise IntegrityError(
                f"artifact {self._describe(ref)} (produced by "
                f"{by(ref)}) does not match its checksum (expected "
                f"{ref.checksum}, found {checksum}): it was altered after it was written. "
                f"{UNTRUSTED} {rewrite(ref)}"
            )

    def _missing(self, ref: ArtifactRef) -> IntegrityError:
        return IntegrityError(
            f"artifact {self._describe(ref)} (produced by {by(ref)})"
            f" is missing: it was deleted after it was written. {UNTRUSTED} "
            f"{rewrite(ref)}"
        )

    def _read_error(self, ref: ArtifactRef, e: Exception) -> StoreError:
        return StoreError(
            f"could not read artifact {self._describe(ref)} (produced by "
            f"{by(ref)}): {type(e).__name__}: {e}"
        )

    def _describe(self, ref: ArtifactRef) -> str:
        if ref.location is None:
            return f"{ref.checksum} (inline in the run store)"
        return self._backend.describe(ref.location)

    @property
    def local_root(self) -> str | None:
        """The folder of a local store (None for remote ones)."""
        backend = self._backend
        return str(backend.root) if isinstance(backend, LocalBackend) else None


def _reopen(
    url: str,
    storage_options: Mapping[str, Any],
    inline_limit: int,
    registry: SerializerRegistry | None,
    read_only: bool,
) -> FsspecArtifactStore:
    """The store a pickled :class:`FsspecArtifactStore` stands for."""
    return FsspecArtifactStore(url, storage_options, inline_limit, registry, read_only=read_only)
