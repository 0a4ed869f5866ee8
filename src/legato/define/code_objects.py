"""Code objects as the fingerprint sees them: a digest of the code that runs and what it
reads (global names with their attribute chains, imports in the body), analysed once per code
object for its lifetime (a code object cannot change).

Bytecode, not source text: see :mod:`legato.define.fingerprint` for why, and for what a digest
covers.
"""

from __future__ import annotations

import dataclasses
import dis
import sys
import types
import weakref
from collections.abc import Iterable

import xxhash

__all__ = ["FORMAT", "PYTHON", "CodeInfo", "Token", "code_info", "digest", "digest_with_list"]

FORMAT = "legato.fingerprint/1"
"""Version of the fingerprint algorithm; part of every digest, bumped when it changes."""
PYTHON = sys.implementation.cache_tag or f"{sys.implementation.name}-{sys.version_info[:2]}"
"""The interpreter, in every digest: bytecode differs between Python minor versions."""

Token = object
"""A canonical form: a primitive or a tagged tuple of canonical forms, hashed via ``repr``."""

_ATTR_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_IMPORT_TAIL = frozenset({"IMPORT_FROM", "STORE_FAST", "STORE_NAME", "STORE_DEREF", "SWAP"})


def digest(token: Token) -> str:
    """Hex xxh3-128 of a canonical form."""
    # repr of primitives and tuples is deterministic (no set or dict reaches it) and escapes
    # every unprintable character, so encoding cannot fail.
    return xxhash.xxh3_128_hexdigest(repr(token).encode("utf-8", "backslashreplace"))


_REPRS_AT_ONCE = 1024


def digest_with_list(
    head: tuple[Token, ...], items: Iterable[Token], count: int, tail: tuple[Token, ...] = ()
) -> str:
    """``digest((*head, tuple(items), *tail))``, with ``items`` (``count`` of them) made and
    written a thousand at a time: the canonical form of a pipeline of a million tasks would
    otherwise be a million tuples and a string of a hundred megabytes, all at once."""
    hasher = xxhash.xxh3_128()

    def feed(text: str) -> None:
        hasher.update(text.encode("utf-8", "backslashreplace"))

    # The text repr writes: a tuple's elements joined by ", ", a 1-tuple's followed by ",".
    feed("(" + "".join(f"{token!r}, " for token in head) + "(")
    batch: list[str] = []
    for i, token in enumerate(items):
        batch.append(repr(token) if i == 0 else f", {token!r}")
        if len(batch) == _REPRS_AT_ONCE:
            feed("".join(batch))
            batch.clear()
    feed("".join(batch) + ("," if count == 1 else "") + ")")
    feed("".join(f", {token!r}" for token in tail) + ("," if not head and not tail else "") + ")")
    return hasher.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class CodeInfo:
    digest: str
    """The code itself: bytecode, names, layout, constants, nested code objects."""
    chains: tuple[tuple[str, ...], ...]
    """Global names loaded, each with the attributes read from it (``helpers.clean``)."""
    imports: tuple[tuple[str, int, bool, tuple[str, ...]], ...]
    """Imports in the body: (name as written, level, has a from-list, names imported)."""
    names: frozenset[str]
    """Names and strings the code uses, to find what it reads of modules imported in it."""


_infos: weakref.WeakKeyDictionary[types.CodeType, CodeInfo] = weakref.WeakKeyDictionary()


def code_info(code: types.CodeType) -> CodeInfo:
    info = _infos.get(code)
    if info is None:
        info = _infos[code] = _analyse(code)
    return info


def _const(value: object) -> Token:
    if isinstance(value, types.CodeType):
        return ("code", code_info(value).digest)
    if type(value) is tuple:
        return ("tuple", *map(_const, value))
    if type(value) is frozenset:  # iterates in str-hash order: randomised per process
        return ("frozenset", *sorted(map(_const, value), key=repr))
    return ("...",) if value is Ellipsis else value


def _analyse(code: types.CodeType) -> CodeInfo:
    token = (
        code.co_name,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
        code.co_code,  # de-specialised: the same however hot the function has run
        getattr(code, "co_exceptiontable", b""),
        code.co_names,
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        tuple(map(_const, code.co_consts)),
    )
    chains: dict[tuple[str, ...], None] = {}
    imports: list[tuple[str, int, bool, tuple[str, ...]]] = []
    names = {*code.co_names, *(c for c in code.co_consts if type(c) is str)}
    instructions = list(dis.get_instructions(code))
    for i, ins in enumerate(instructions):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            chain = [ins.argval]
            for follower in instructions[i + 1 :]:
                if follower.opname not in _ATTR_OPS:
                    break
                chain.append(follower.argval)
            chains.setdefault(tuple(chain))
        elif ins.opname == "IMPORT_NAME" and i >= 2:
            level, fromlist = instructions[i - 2].argval, instructions[i - 1].argval
            froms: list[str] = []
            for follower in instructions[i + 1 :]:
                if follower.opname not in _IMPORT_TAIL:
                    break
                if follower.opname == "IMPORT_FROM":
                    froms.append(follower.argval)
            level = level if isinstance(level, int) else 0
            imports.append((ins.argval, level, bool(fromlist), tuple(froms)))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            inner = code_info(const)
            chains.update(dict.fromkeys(inner.chains))
            imports.extend(inner.imports)
            names.update(inner.names)
    return CodeInfo(digest(token), tuple(chains), tuple(imports), frozenset(names))
