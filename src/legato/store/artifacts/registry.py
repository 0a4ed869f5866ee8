"""Which serialiser writes a value: the first, in priority order, that accepts it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from legato.store.artifacts.builtin import (
    JoblibSerializer,
    JsonSerializer,
    NpySerializer,
    PickleSerializer,
)
from legato.store.artifacts.parquet import ParquetSerializer
from legato.store.artifacts.serializers import Serializer

__all__ = ["SerializerRegistry", "builtin_serializers", "default_registry", "register_serializer"]

_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_EXTENSION = re.compile(r"[a-z0-9]{1,16}")


def builtin_serializers() -> list[Serializer]:
    """``json``, ``npy``, ``parquet``, ``joblib``, ``pickle``: a fresh list, in priority
    order."""
    return [
        JsonSerializer(),
        NpySerializer(),
        ParquetSerializer(),
        JoblibSerializer(),
        PickleSerializer(),
    ]


def _checked(serializer: Serializer) -> Serializer:
    name = getattr(serializer, "name", None)
    extension = getattr(serializer, "extension", None)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"serializer name {name!r} must be lower case letters, digits, '_', '.' or '-'"
        )
    if not isinstance(extension, str) or not _EXTENSION.fullmatch(extension):
        raise ValueError(
            f"serializer {name!r}: extension {extension!r} must be 1 to 16 lower case "
            "letters or digits, without the dot"
        )
    for method in ("accepts", "dump", "load", "versions"):
        if not callable(getattr(serializer, method, None)):
            raise ValueError(f"serializer {name!r} has no {method}() method")
    return serializer


class SerializerRegistry:
    """Serialisers in priority order. Safe to use from many threads; registering is meant for
    import time (register in the module that defines your tasks, so worker processes, which
    import it, register too)."""

    def __init__(self, serializers: Iterable[Serializer] = ()) -> None:
        self._lock = threading.Lock()
        order = [_checked(s) for s in serializers]
        if len({s.name for s in order}) != len(order):
            raise ValueError("serializer names must be unique")
        self._order: tuple[Serializer, ...] = tuple(order)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self._order),))

    def register(self, serializer: Serializer, *, before: str | None = None) -> None:
        """Add ``serializer`` ahead of the one named ``before``, or ahead of all when None (a
        registered serialiser takes precedence over the built-ins). A serialiser with the
        same name is replaced. Raises ``ValueError`` for a malformed name or extension, or an
        unknown ``before``."""
        name = _checked(serializer).name
        with self._lock:
            rest = [s for s in self._order if s.name != name]
            at = 0
            if before is not None:
                names = [s.name for s in rest]
                if before not in names:
                    raise ValueError(
                        f"cannot register {name!r} before {before!r}: no such serializer "
                        f"(registered: {', '.join(names)})"
                    )
                at = names.index(before)
            rest.insert(at, serializer)
            self._order = tuple(rest)

    def unregister(self, name: str) -> Serializer:
        """Remove and return the serialiser called ``name`` (``KeyError`` if none)."""
        with self._lock:
            found = self.get(name)
            self._order = tuple(s for s in self._order if s is not found)
            return found

    def get(self, name: str) -> Serializer:
        """The serialiser called ``name`` (``KeyError`` if none is registered)."""
        for serializer in self._order:
            if serializer.name == name:
                return serializer
        raise KeyError(name)

    def names(self) -> list[str]:
        """Names in priority order."""
        return [s.name for s in self._order]

    def candidates(self, obj: Any) -> Iterator[Serializer]:
        """Serialisers that accept ``obj``, best first (asked lazily, one at a time)."""
        for serializer in self._order:  # a snapshot: registering replaces the tuple
            if serializer.accepts(obj):
                yield serializer

    def choose(self, obj: Any) -> Serializer:
        """The first serialiser that accepts ``obj`` (``LookupError`` if none does, which
        only happens when the ``pickle`` fallback was removed)."""
        for serializer in self.candidates(obj):
            return serializer
        raise LookupError(f"no serializer accepts a {type(obj).__qualname__}")


default_registry = SerializerRegistry(builtin_serializers())
"""The registry stores use unless given their own."""


def register_serializer(serializer: Serializer, *, before: str | None = None) -> None:
    """Add a serialiser to the default registry, ahead of every built-in unless ``before``
    names the one to go ahead of (``before="pickle"``: only values no built-in takes).

    Register at import time of the module that defines your tasks, so that worker processes
    can load what it wrote; see :class:`~legato.store.artifacts.Serializer` for the protocol.
    """
    default_registry.register(serializer, before=before)
