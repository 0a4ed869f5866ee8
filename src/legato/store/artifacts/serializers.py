"""What a serialiser is: the protocol built-in and user serialisers follow.

A serialiser turns one kind of value into bytes and back, exactly: a value that would not come
back equal and of the same type is not *accepted* (or is *declined* while dumping), and the
next serialiser in the registry's priority order gets it, down to the cloudpickle fallback.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from legato.model.artifacts import shared_meta

__all__ = [
    "Serializer",
    "UnsupportedValueError",
    "WritableFile",
    "module_version",
    "python_version",
    "written_meta",
]


class UnsupportedValueError(Exception):
    """Raised by :meth:`Serializer.dump` to decline a value it accepted at first sight (say a
    table column type the format cannot keep exactly). Whatever it wrote is thrown away and
    the next serialiser in priority order is tried."""


class WritableFile(Protocol):
    """The binary file a serialiser writes to. It hashes and counts the bytes as they pass;
    it cannot seek."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        """Write all of ``data``; returns its length."""
        ...

    def tell(self) -> int:
        """Bytes written so far."""
        ...

    def flush(self) -> None:
        """Nothing to do (kept for libraries that call it)."""
        ...


class Serializer(Protocol):
    """One storage format. Register your own with
    :func:`~legato.store.artifacts.register_serializer`."""

    name: str
    """Recorded in ``ArtifactRef.serializer`` and used to find the serialiser again when
    loading: lower case letters, digits, ``_ . -``; unique in a registry."""

    extension: str
    """File extension of stored artifacts, without the dot (``npy``): lower case letters and
    digits, at most 16."""

    version: str
    """Version of this serialiser's output layout, recorded as ``serializer_version``."""

    def accepts(self, obj: Any) -> bool:
        """Whether ``obj`` is a value this format keeps exactly. Must be cheap and must not
        import a library the value's type does not already come from."""
        ...

    def dump(self, obj: Any, file: WritableFile) -> Mapping[str, str]:
        """Write ``obj`` to ``file``; return details worth recording in ``ArtifactRef.meta``
        (dtype, shape...). Raise :class:`UnsupportedValueError` to decline."""
        ...

    def load(self, source: bytes | Path, meta: Mapping[str, str]) -> Any:
        """Read a value back from its bytes or from a local file holding them (already
        verified against the checksum). ``meta`` is what was recorded when it was written."""
        ...

    def versions(self) -> Mapping[str, str]:
        """Versions of the libraries the format depends on (``{"numpy": "2.1.0"}``), recorded
        in ``ArtifactRef.meta`` with every artifact."""
        ...


_PYTHON_VERSION = "{}.{}.{}".format(*sys.version_info[:3])


def python_version() -> str:
    """``3.11.9``: pickles can depend on it (made once: every stored output records it)."""
    return _PYTHON_VERSION


_WRITTEN_META: dict[tuple[Any, ...], Mapping[str, str]] = {}
_MAX_WRITTEN_META = 256


def written_meta(serializer: Serializer) -> Mapping[str, str]:
    """What every reference ``serializer`` writes records in its ``meta``: its own version
    and the versions it reports now (:meth:`Serializer.versions`), as strings. Made once per
    distinct answer and shared (``shared_meta``), not once per output: a fan-out's million
    outputs ask the same serialiser the same question."""
    versions = serializer.versions()
    key = (serializer.version, *versions.items())
    try:
        meta = _WRITTEN_META.get(key)
    except TypeError:  # a version that is not hashable: made each time
        key, meta = (), None
    if meta is None:
        written = {str(k): str(v) for k, v in versions.items()}
        meta = shared_meta({"serializer_version": str(serializer.version), **written})
        if key and len(_WRITTEN_META) < _MAX_WRITTEN_META:
            _WRITTEN_META[key] = meta
    return meta


def module_version(name: str) -> str | None:
    """``__version__`` of an imported module, None when it is not imported (never imports)."""
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None
