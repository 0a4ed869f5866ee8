"""Cache keys: what a task's result depends on, hashed, and why a lookup missed.

A key covers the task's code fingerprint (its source and the user code it calls, the
constants it reads), the content of its inputs (checksums of upstream artifacts; files and
folders passed as paths by their content), its literal arguments and run parameters, and the
user's cache version. Pure: no I/O except reading files that are inputs.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import pickle
import sys
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import cloudpickle
import xxhash

from legato.model.artifacts import ArtifactRef, paths_of_ref
from legato.model.slots import slot_init
from legato.model.values import Arg, Dict, Gathered, Given, Lit, Seq, Stored, StoredItems, Value

__all__ = [
    "KeyParts",
    "UncacheableError",
    "explain_miss",
    "is_path_annotation",
    "key_of",
    "literal_digest",
    "value_digest",
]

_MAX_DEPTH = 32
"""How deep annotations and literal containers are searched for paths."""


class UncacheableError(Exception):
    """An input has no stable content hash (an object that cannot be pickled, say)."""


_PART_NAMES = ("code", "inputs", "params", "version")


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class KeyParts(Mapping[str, str]):
    """The components of a cache key, kept with each cache entry to explain misses.

    It is also the read-only mapping a task's record and events keep as ``cache_parts``
    (``code``, ``inputs``, ``params``, ``version``): one small object per task rather than a
    dict of the same four strings (about 64 bytes rather than 184, for each task of a run).
    Equal to any mapping with the same items.
    """

    code: str
    inputs: str
    """Digest of the outputs of other tasks the call reads (and files it is given)."""
    params: str
    """Digest of literal arguments and run parameters."""
    version: str = ""

    def key(self, task: str) -> str:
        return _combine((task, self.code, self.inputs, self.params, self.version))

    def __getitem__(self, name: str) -> str:
        if name in _PART_NAMES:
            value: str = getattr(self, name)
            return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_PART_NAMES)

    def __len__(self) -> int:
        return len(_PART_NAMES)


def explain_miss(previous: Mapping[str, str] | None, current: KeyParts) -> str:
    """Why ``current`` found no entry, comparing with the parts of the task's last entry."""
    if previous is None:
        return "cache: miss, no earlier result"
    if (
        current.code == "custom"  # a key function's string is all there is to compare
        and previous.get("code") == "custom"
        and previous.get("params") != current.params
    ):
        return "cache: miss, custom key changed"
    changed = [
        label
        for field, label in (
            ("code", "code"),
            ("inputs", "inputs"),
            ("params", "parameters"),
            ("version", "cache version"),
        )
        if previous.get(field) != getattr(current, field)
    ]
    if not changed:
        return "cache: miss, earlier result expired or removed"
    if len(changed) == 1:
        return f"cache: miss, {changed[0]} changed"
    return f"cache: miss, {', '.join(changed[:-1])} and {changed[-1]} changed"


def is_path_annotation(annotation: Any, depth: int = 0) -> bool:
    """Whether a parameter annotated ``annotation`` takes files or folders: ``Path`` (or any
    ``PurePath``, ``os.PathLike``), also inside ``X | None``, unions, ``Annotated`` and
    containers (``list[Path]``, ``dict[str, Path]``); a postponed (string) annotation when it
    mentions ``Path``."""
    if annotation is inspect.Parameter.empty or depth > _MAX_DEPTH:
        return False
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        return "Path" in annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is typing.Annotated:
        return is_path_annotation(typing.get_args(annotation)[0], depth + 1)
    if origin is not None:
        if is_path_annotation(origin, depth + 1):  # os.PathLike[str]
            return True
        return any(is_path_annotation(arg, depth + 1) for arg in typing.get_args(annotation))
    if isinstance(annotation, type):
        try:
            return issubclass(annotation, PurePath | os.PathLike)
        except TypeError:
            return False
    return False


def value_digest(value: Value, hash_path: Callable[[Any], str] | None = None) -> str:
    """Content digest of an output: its artifact checksum(s), and the content of the files
    and folders it names (a task that returns a ``Path``), read now."""
    if isinstance(value, Stored):
        return _ref_digest(value.ref, hash_path)
    if isinstance(value, StoredItems):
        return _combine(_ref_digest(ref, hash_path) for ref in value.items)
    if isinstance(value, Gathered):
        return _combine(value_digest(v, hash_path) for v in value.items)
    raise UncacheableError(f"a {type(value).__name__} output has no stored checksum")


def _ref_digest(ref: ArtifactRef, hash_path: Callable[[Any], str] | None) -> str:
    paths = paths_of_ref(ref)
    if not paths or hash_path is None:
        return ref.checksum
    return _combine([ref.checksum, *(_path_digest(p, hash_path) for p in paths)])


def _combine(parts: Iterable[str]) -> str:
    """The digest of ``parts``, each followed by a NUL byte. Hashed a few thousand parts at
    a time: the same digest as feeding them to the hash one by one, for a fraction of the
    calls, and without the whole text at once (the outputs of a million map items, which a
    reduce reads, would make 175 MB of it)."""
    parts = iter(parts)
    chunk = list(itertools.islice(parts, _COMBINED_AT_ONCE))
    if len(chunk) < _COMBINED_AT_ONCE:  # most keys: a few parts
        return _hexdigest("".join([f"{part}\0" for part in chunk]).encode())
    hasher = xxhash.xxh3_128()
    while chunk:
        hasher.update("".join([f"{part}\0" for part in chunk]).encode())
        chunk = list(itertools.islice(parts, _COMBINED_AT_ONCE))
    return hasher.hexdigest()


_hexdigest = xxhash.xxh3_128_hexdigest
_COMBINED_AT_ONCE = 4096


def literal_digest(value: Any, *, as_path: bool, hash_path: Callable[[Any], str]) -> str:
    """Digest of a literal argument. Paths (and strings given to parameters annotated as
    paths), also inside lists, tuples and dicts, count by the content of the file or folder
    they name; a digest of such an input starts with ``path:``."""
    if isinstance(value, PurePath) or (as_path and isinstance(value, str)):
        return "path:" + _path_digest(value, hash_path)
    if isinstance(value, list | tuple | dict) and _names_files(value, as_path, 0):
        pairs: Any = (
            sorted(value.items(), key=lambda kv: repr(kv[0]))
            if isinstance(value, dict)
            else enumerate(value)
        )
        return "path:" + _combine(
            [
                type(value).__name__,
                *(
                    f"{k!r}={literal_digest(v, as_path=as_path, hash_path=hash_path)}"
                    for k, v in pairs
                ),
            ]
        )
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)
        return "json:" + xxhash.xxh3_128_hexdigest((type(value).__name__ + text).encode())
    except (TypeError, ValueError):
        pass
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception:
        try:
            data = cloudpickle.dumps(value, protocol=5)
        except Exception as exc:
            raise UncacheableError(f"{type(value).__qualname__} cannot be hashed: {exc}") from None
    return "pickle:" + xxhash.xxh3_128_hexdigest(data)


def _path_digest(path: str | PurePath, hash_path: Callable[[Any], str]) -> str:
    try:
        return hash_path(path)
    except (FileNotFoundError, NotADirectoryError):
        # Nothing there (yet): an optional input, or a file the task writes. Its name is all
        # there is to tell it from another missing path.
        return "missing:" + xxhash.xxh3_128_hexdigest(os.fsencode(path))
    except (OSError, ValueError) as exc:  # unreadable, a FIFO or device...
        raise UncacheableError(f"input path {str(path)!r} cannot be hashed: {exc}") from None


def _names_files(value: Any, as_path: bool, depth: int) -> bool:
    """Whether a literal container holds a path (or, under a path annotation, a string)."""
    if depth > _MAX_DEPTH:
        return False
    items = value.values() if isinstance(value, dict) else value
    for item in items:
        if isinstance(item, PurePath) or (as_path and isinstance(item, str)):
            return True
        if isinstance(item, list | tuple | dict) and _names_files(item, as_path, depth + 1):
            return True
    return False


_PARAMETERS: dict[int, tuple[inspect.Signature, list[str], frozenset[str]]] = {}


def _parameters(signature: inspect.Signature) -> tuple[list[str], frozenset[str]]:
    """The parameter names of ``signature``, and those annotated as paths: read once per
    task, not once per call (a map of a million items asks a million times)."""
    found = _PARAMETERS.get(id(signature))
    if found is None or found[0] is not signature:
        params = signature.parameters
        paths = frozenset(n for n, p in params.items() if is_path_annotation(p.annotation))
        found = _PARAMETERS[id(signature)] = (signature, list(params), paths)
    return found[1], found[2]


def key_of(
    *,
    task: str,
    code: str,
    version: str,
    signature: inspect.Signature,
    args: tuple[Arg, ...],
    kwargs: tuple[tuple[str, Arg], ...],
    hash_path: Callable[[Any], str],
) -> KeyParts:
    """The key parts of one call with its bound arguments (``Lit``, ``Given`` and
    containers of them). Raises :class:`UncacheableError` when an input has no stable digest."""
    names, path_params = _parameters(signature)
    # What each hash is fed, joined and hashed once at the end (the same digests as feeding
    # the pieces one by one).
    inputs: list[str] = []
    literals: list[str] = []
    fed = (inputs, literals)
    for i, arg in enumerate(args):
        name = names[i] if i < len(names) else f"*{i}"
        _walk(arg, name, name in path_params, fed, hash_path)
    for name, arg in kwargs:
        _walk(arg, name, name in path_params, fed, hash_path)
    # Interned, so that equal digests are one string: most tasks of a map or a layer of a
    # DAG have the same literal arguments (often none), and the digest is kept with every
    # task's record (81 bytes a task of a million).
    params_digest = sys.intern(_hexdigest("".join(literals).encode()))
    inputs_digest = _hexdigest("".join(inputs).encode())
    return KeyParts(code=code, inputs=inputs_digest, params=params_digest, version=version)


def _walk(
    arg: Arg,
    where: str,
    as_path: bool,
    fed: tuple[list[str], list[str]],
    hash_path: Callable[[Any], str],
) -> None:
    """Add what ``arg`` (the argument named ``where``) contributes to the inputs' and the
    literals' digests (``fed``: what each is fed)."""
    inputs, literals = fed
    if isinstance(arg, Given):
        digest = value_digest(arg.value, hash_path)
        inputs.append(f"{where}={digest}{arg.path!r}\0")
    elif isinstance(arg, Lit):
        digest = literal_digest(arg.value, as_path=as_path, hash_path=hash_path)
        target = inputs if digest.startswith("path:") else literals
        target.append(f"{where}={digest}\0")
    elif isinstance(arg, Seq):
        literals.append(f"{where}=seq{len(arg.items)}{arg.as_tuple}\0")
        for i, item in enumerate(arg.items):
            _walk(item, f"{where}[{i}]", as_path, fed, hash_path)
    elif isinstance(arg, Dict):
        literals.append(f"{where}=dict{len(arg.items)}\0")
        for key, item in arg.items:
            _walk(item, f"{where}[{key!r}]", as_path, fed, hash_path)
    else:
        raise UncacheableError(f"unbound argument {arg!r}")
