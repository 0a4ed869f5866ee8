"""The canonical form of the values code reads, for code fingerprints.

Globals, closure cells, defaults and class constants count in a fingerprint by what they
hold, as a token that is the same in every process: containers by their items, user objects
by their class and state, library objects by their library's name and version and their
qualified name, numpy arrays by their bytes (:mod:`legato.define.fingerprint` says what
counts and why). The user functions and classes a value holds are named here, not followed:
they are appended to ``edges`` for the :class:`~legato.define.fingerprint.Fingerprinter` to
walk as nodes of their own, so this module keeps no state and a function reached many ways
is analysed once.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import pathlib
import re
import types
import uuid
from collections.abc import Mapping
from typing import Any

import xxhash

from legato.define.code_objects import Token, code_info
from legato.define.code_origin import origin_of, qualname
from legato.model.specs import TaskSpec

__all__ = ["encode", "encode_members", "task_spec"]

_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes})
_SCALARS: tuple[type[Any], ...] = (int, float, complex, str, bytes)
_CONTAINERS: tuple[type[Any], ...] = (tuple, list, dict, set, frozenset)
_BY_REPR = (  # types whose repr is deterministic and shows the whole value
    datetime.date,
    datetime.time,
    datetime.timedelta,
    decimal.Decimal,
    fractions.Fraction,
    uuid.UUID,
    pathlib.PurePath,
)
_CODE_LIKE = (types.FunctionType, staticmethod, classmethod, property, type)
_MAX_DEPTH = 64


def encode(value: Any, edges: list[object], path: frozenset[int] = frozenset()) -> Token:
    """The canonical form of ``value``; the user functions and classes it holds are
    appended to ``edges``."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if id(value) in path or len(path) > _MAX_DEPTH:
        return ("cycle",)
    inner = path | {id(value)}
    if kind is tuple or kind is list:
        return (kind.__name__, *(encode(v, edges, inner) for v in value))
    if kind is dict:
        items = value.items()
        return (
            "dict",
            *((encode(k, edges, inner), encode(v, edges, inner)) for k, v in items),
        )
    if kind is set or kind is frozenset:
        return (
            kind.__name__,
            *sorted((encode(v, edges, inner) for v in value), key=repr),
        )
    if isinstance(value, types.FunctionType):
        origin = origin_of(value.__module__)
        if origin is not None:
            return (*origin, qualname(value))
        edges.append(value)
        return ("fn", value.__qualname__, code_info(value.__code__).digest)
    if isinstance(value, type):
        origin = origin_of(value.__module__)
        if origin is not None:
            return (*origin, qualname(value))
        edges.append(value)
        return ("class", value.__qualname__)
    if isinstance(value, types.ModuleType):
        origin = origin_of(value.__name__)
        if origin is not None:
            return (*origin, value.__name__)
        # A user module used whole (``getattr(helpers, name)``, an argument, a closure
        # cell): what is read of it cannot be known, so all of it counts, one level deep.
        table = {
            k: ("module", _short(v))
            if isinstance(v, types.ModuleType) and not origin_of(v.__name__)
            else v
            for k, v in vars(value).items()
        }
        return ("module", _short(value), encode_members(table, edges, inner))
    return _other(value, edges, inner)


def encode_members(table: Mapping[str, object], edges: list[object], path: frozenset[int]) -> Token:
    """A class's or module's attributes. Dunder and sunder data (``__module__``,
    ``_member_map_``...) is bookkeeping that the rest already reflects."""
    return tuple(
        (name, encode(value, edges, path))
        for name, value in sorted(table.items())
        if not (name[:1] == "_" == name[-1:] and not isinstance(value, _CODE_LIKE))
    )


def _other(value: Any, edges: list[object], path: frozenset[int]) -> Token:
    kind = type(value)
    origin = origin_of(kind.__module__)
    label = kind.__qualname__ if origin is None else qualname(kind)
    if isinstance(value, enum.Enum):
        return ("enum", label, value.name, encode(value.value, edges, path))
    spec = task_spec(value)
    if spec is not None:
        return ("task", encode(spec.fn, edges, path))
    parts: tuple[object, ...] | None = None
    if isinstance(value, functools.partial):
        parts = (value.func, value.args, value.keywords)
    elif isinstance(value, types.MethodType):
        parts = (value.__func__, value.__self__)
    elif isinstance(value, staticmethod | classmethod):
        parts = (value.__func__,)
    elif isinstance(value, property):
        parts = (value.fget, value.fset, value.fdel)
    elif isinstance(value, functools.cached_property):
        parts = (value.func,)
    elif dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)
        parts = (kind, *((f.name, getattr(value, f.name, None)) for f in fields))
    if parts is not None:
        return (label, *(encode(p, edges, path) for p in parts))
    for scalar in _SCALARS:
        if isinstance(value, scalar):  # str subclasses, numpy.float64...
            return ("as", label, scalar(value))
    for container in _CONTAINERS:
        if isinstance(value, container):  # namedtuples, OrderedDict, Counter...
            return ("as", label, encode(container(value), edges, path))
    if isinstance(value, bytearray | memoryview):
        return (label, bytes(value))
    if isinstance(value, range):
        return ("range", value.start, value.stop, value.step)
    if isinstance(value, _BY_REPR):
        return ("repr", label, repr(value))
    if isinstance(value, re.Pattern):
        return ("regex", value.pattern, value.flags)
    if isinstance(value, types.CodeType):
        return ("code", code_info(value).digest)
    array = _array(value)
    if array is not None:
        return array
    wrapped = getattr(value, "__wrapped__", None) if callable(value) else None
    if wrapped is not None:  # functools.lru_cache and other wrappers that keep it
        return ("wrapped", label, encode(wrapped, edges, path))
    if origin is None:  # an instance of a user class: the class and its plain state
        state = getattr(value, "__dict__", None)
        state = dict(state) if isinstance(state, dict) else None
        return ("object", encode(kind, edges, path), encode(state, edges, path))
    return (*origin, "instance", qualname(kind), qualname(value))


def task_spec(value: object) -> TaskSpec | None:
    """The spec of a ``legato.Task``: of any object whose ``spec`` attribute is a
    ``TaskSpec``."""
    try:
        spec = getattr(value, "spec", None)
    except Exception:  # a proxy whose __getattr__ raises something odd
        return None
    return spec if isinstance(spec, TaskSpec) else None


def _short(module: types.ModuleType) -> str:
    """A module's name without its package: fingerprints survive moving code."""
    return module.__name__.rpartition(".")[2]


def _array(value: object) -> Token | None:
    """A numpy array or scalar of a plain dtype, by dtype, shape and bytes (without importing
    numpy)."""
    if type(value).__module__ != "numpy":
        return None
    data: Any = value
    dtype = getattr(data, "dtype", None)
    if dtype is None or dtype.hasobject or not callable(getattr(data, "tobytes", None)):
        return None
    return ("ndarray", str(dtype), tuple(data.shape), xxhash.xxh3_128_hexdigest(data.tobytes()))
