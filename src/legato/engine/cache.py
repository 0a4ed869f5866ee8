"""Cache keys: what a task's result depends on, hashed, and why a lookup missed.

A key covers the task's code fingerprint (its source and the user code it calls, the
constants it reads), the content of its inputs (checksums of upstream artifacts; files and
folders passed as paths by their content), its literal arguments and run parameters, and the
user's cache version. Pure: no I/O except reading files that are inputs.
"""

from __future__ import annotations

import inspect
import json
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import cloudpickle
import xxhash

from legato.model.values import Arg, Dict, Gathered, Given, Lit, Seq, Stored, StoredItems, Value

__all__ = ["KeyParts", "UncacheableError", "explain_miss", "key_of", "value_digest"]


class UncacheableError(Exception):
    """An input has no stable content hash (an object that cannot be pickled, say)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyParts:
    """The components of a cache key, kept with each cache entry to explain misses."""

    code: str
    inputs: str
    """Digest of the outputs of other tasks the call reads (and files it is given)."""
    params: str
    """Digest of literal arguments and run parameters."""
    version: str = ""

    def key(self, task: str) -> str:
        h = xxhash.xxh3_128()
        for part in (task, self.code, self.inputs, self.params, self.version):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "inputs": self.inputs,
            "params": self.params,
            "version": self.version,
        }


def explain_miss(previous: Mapping[str, str] | None, current: KeyParts) -> str:
    """Why ``current`` found no entry, comparing with the parts of the task's last entry."""
    if previous is None:
        return "cache: miss, no earlier result"
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


def _is_path_annotation(annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty:
        return False
    if isinstance(annotation, str):
        return "Path" in annotation
    try:
        return isinstance(annotation, type) and issubclass(annotation, PurePath)
    except TypeError:
        return False


def value_digest(value: Value) -> str:
    """Content digest of an output: its artifact checksum(s)."""
    if isinstance(value, Stored):
        return value.ref.checksum
    if isinstance(value, StoredItems):
        return _combine(ref.checksum for ref in value.items)
    if isinstance(value, Gathered):
        return _combine(value_digest(v) for v in value.items)
    raise UncacheableError(f"a {type(value).__name__} output has no stored checksum")


def _combine(parts: Any) -> str:
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def literal_digest(value: Any, *, as_path: bool, hash_path: Callable[[Any], str]) -> str:
    """Digest of a literal argument; paths (or strings passed to Path parameters) hash the
    content of the file or folder they name."""
    if isinstance(value, PurePath) or (as_path and isinstance(value, str)):
        return "path:" + hash_path(value)
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
    names = list(signature.parameters)
    params = signature.parameters
    inputs = xxhash.xxh3_128()
    literals = xxhash.xxh3_128()

    def walk(arg: Arg, where: str, as_path: bool) -> None:
        if isinstance(arg, Given):
            inputs.update(f"{where}={value_digest(arg.value)}{arg.path!r}\0".encode())
        elif isinstance(arg, Lit):
            digest = literal_digest(arg.value, as_path=as_path, hash_path=hash_path)
            target = inputs if digest.startswith("path:") else literals
            target.update(f"{where}={digest}\0".encode())
        elif isinstance(arg, Seq):
            literals.update(f"{where}=seq{len(arg.items)}{arg.as_tuple}\0".encode())
            for i, item in enumerate(arg.items):
                walk(item, f"{where}[{i}]", False)
        elif isinstance(arg, Dict):
            literals.update(f"{where}=dict{len(arg.items)}\0".encode())
            for key, item in arg.items:
                walk(item, f"{where}[{key!r}]", False)
        else:
            raise UncacheableError(f"unbound argument {arg!r}")

    for i, arg in enumerate(args):
        name = names[i] if i < len(names) else f"*{i}"
        annotation = params[name].annotation if name in params else inspect.Parameter.empty
        walk(arg, name, _is_path_annotation(annotation))
    for name, arg in kwargs:
        annotation = params[name].annotation if name in params else inspect.Parameter.empty
        walk(arg, name, _is_path_annotation(annotation))
    return KeyParts(
        code=code, inputs=inputs.hexdigest(), params=literals.hexdigest(), version=version
    )
