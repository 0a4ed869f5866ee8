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

__all__ = [
    "Serializer",
    "UnsupportedValueError",
    "WritableFile",
    "module_version",
    "python_version",
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


def python_version() -> str:
    """``3.11.9``: pickles can depend on it."""
    v = sys.version_info
    return f"{v.major}.{v.minor}.{v.micro}"


def module_version(name: str) -> str | None:
    """``__version__`` of an imported module, None when it is not imported (never imports)."""
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None
