"""Code fingerprints: one digest for a task's code and all the user code it depends on, and one
for a whole pipeline (its version).

A cache key built on a fingerprint must never give a stale hit (a change that affects the
task leaves it unchanged) and should rarely give a false miss (a change that cannot affect
the task changes it). How each part is covered:

**Bytecode, not source text.** A function is hashed by its code object (``co_code``, the
exception table, names, argument layout, flags, constants), recursively through nested code
objects (inner functions, lambdas, comprehensions). Source text was rejected because bytecode
is *the code that runs*: the file may have been edited since it was imported (with source
text, a stale hit), code made in a notebook or by ``exec`` has no file, and the source of a
lambda is its whole line. Comments, blank lines, line breaks and moving a function within
its file change nothing: line numbers live outside the hashed fields. The price: bytecode
differs between Python minor versions, so each fingerprint names the interpreter
(``sys.implementation.cache_tag``) and an upgrade re-runs everything, by design rather than
by accident. Docstrings (``__doc__`` is readable at run time) and renamed locals change it:
false misses, never stale hits. Annotations are not hashed: they do not change results.

**User code** is a module whose file (``__spec__.origin``) is neither in the standard library
(under ``sysconfig``'s ``stdlib``; built-in and frozen modules, and by name in
``sys.stdlib_module_names`` only when there is no file, so a user's ``statistics.py`` is
user code) nor installed (under ``purelib``/``platlib`` or any ``site-packages`` or
``dist-packages``); ``__main__``, notebooks and modules of unknown origin are user code
(hashing too much is the safe side); legato itself is a library. User
functions and classes are followed transitively through the globals their code loads
(attribute chains through user modules: ``helpers.clean`` depends on ``clean``, not on the
rest of ``helpers``; a module used whole, as in ``getattr(helpers, name)``, on all of it),
imports in the body, closure cells, defaults, values holding functions (dispatch tables,
partials, decorated functions) and ``legato.Task`` objects (their ``spec.fn``). A class
counts by its bases, methods, properties and class-level constants. A library object counts
by its library's name and version (``__version__`` of the loaded code, else its
distribution's) and its qualified name (so ``agg = numpy.mean`` becoming ``numpy.median`` is
seen), never by its code; a standard-library object by its qualified name; a builtin read by
name not at all beyond the name in the bytecode. A user module imported in a body and not
imported yet (a lazy import) counts by its source file and those of the user modules it
imports, found without importing anything; once imported, by its code like any other.

**Values** read by code (globals, closure cells, defaults, class constants) count by a
canonical form: ``None``, bools, numbers, strings, bytes, tuples, lists, dicts (in order),
sets (sorted), enum members, dataclass instances, instances of user classes (their
``__dict__``), partials, dates, decimals, paths, regular expressions, numpy arrays and
scalars of plain dtypes (by their bytes). Any other object counts by its type's qualified
name (and library version) only: changing such an object, a model held in a global say, is
not seen; bump the task's cache version for those. Module and file names are not hashed, so
moving unchanged code to another module keeps its fingerprint.

**Cycles and memoisation.** Each user function or class is a node: a digest of its own code
and values (naming what it uses shallowly) and edges to the nodes it uses. A fingerprint
hashes the root with the sorted set of the digests of every node reachable from it, so
mutual recursion terminates and the result does not depend on the order of the walk. The
analysis of a code object is memoised for its lifetime (it cannot change). Nodes are
memoised per function and class within one :class:`Fingerprinter`, not longer: bindings can
change under an unchanged function object (a notebook re-running the cell of a helper
rebinds a global), and a longer-lived memo would then give stale hits. Use one
``Fingerprinter`` for all tasks of a run: shared helpers are then walked once.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import datetime
import decimal
import dis
import enum
import fractions
import functools
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import sys
import sysconfig
import types
import uuid
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import xxhash

from legato._version import __version__
from legato.define.graph import Graph, MapSpec, Node
from legato.define.lanespec import LaneItem
from legato.model.specs import TaskSpec
from legato.model.values import Arg, Dict, Given, Lit, Param, Ref, Seq

__all__ = ["FORMAT", "Fingerprinter", "code_fingerprint", "code_fingerprints", "graph_fingerprint"]

FORMAT = "legato.fingerprint/1"
"""Version of the fingerprint algorithm; part of every digest, bumped when it changes."""

_PYTHON = sys.implementation.cache_tag or f"{sys.implementation.name}-{sys.version_info[:2]}"
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
_ATTR_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_IMPORT_TAIL = frozenset({"IMPORT_FROM", "STORE_FAST", "STORE_NAME", "STORE_DEREF", "SWAP"})
_MAX_DEPTH = 64
_MISSING: Any = object()
_STD = ("std",)

Token = object
"""A canonical form: a primitive or a tagged tuple of canonical forms, hashed via ``repr``."""
Origin = tuple[str, ...] | None
"""Where code comes from: None (user code), ``("std",)`` or ``("lib", name, version)``."""


def _digest(token: Token) -> str:
    # repr of primitives and tuples is deterministic (no set or dict reaches it) and escapes
    # every unprintable character, so encoding cannot fail.
    return xxhash.xxh3_128_hexdigest(repr(token).encode("utf-8", "backslashreplace"))


# --------------------------------------------------------------------- where code comes from


@functools.cache
def _dirs(*keys: str) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(_norm(paths[k]) + os.sep for k in keys if paths.get(k))


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _kind_of_path(path: str) -> str:
    real = _norm(path)
    parts = real.split(os.sep)
    if (
        real.startswith(_dirs("purelib", "platlib"))
        or "site-packages" in parts
        or "dist-packages" in parts
    ):
        return "lib"
    return "std" if real.startswith(_dirs("stdlib", "platstdlib")) else "user"


def _library(top: str) -> tuple[str, ...]:
    """``("lib", name, version)`` of an installed top-level package, named by its import name
    whether or not it is imported yet (a lazy import inside a task must not change the
    fingerprint once it has run); the version is that of the loaded code when it is loaded
    (the files on disk may have been upgraded since), else its distribution's."""
    if top == "legato":
        return ("lib", "legato", __version__)
    version = getattr(sys.modules.get(top), "__version__", None)
    return ("lib", top, version if isinstance(version, str) else _distribution_version(top))


@functools.cache
def _distribution_version(top: str) -> str:
    try:
        return importlib.metadata.version(top)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        pass
    # Slow (reads every installed distribution's metadata): only for names that need it.
    for dist in importlib.metadata.packages_distributions().get(top, ()):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _as_origin(kind: str, top: str) -> Origin:
    return None if kind == "user" else _STD if kind == "std" else _library(top)


_kinds: dict[str, str] = {}


def _origin(module_name: object) -> Origin:
    """Where the module named ``module_name`` comes from (None: user code)."""
    if not isinstance(module_name, str) or not module_name or module_name == "__main__":
        return None
    top = module_name.partition(".")[0]
    kind = _kinds.get(module_name)
    if kind is None:
        # By location first: a user module may shadow a standard one (``statistics.py``).
        module = sys.modules.get(module_name) or sys.modules.get(top)
        location = getattr(getattr(module, "__spec__", None), "origin", None)
        location = location or getattr(module, "__file__", None)
        if location is None:  # a namespace package: judge by its first folder
            location = next(iter(getattr(module, "__path__", None) or ()), None)
        if top == "legato":
            kind = "lib"
        elif location in ("built-in", "frozen"):
            kind = "std"
        elif isinstance(location, str):
            kind = _kind_of_path(location)
        elif top in sys.stdlib_module_names:
            kind = "std"
        elif module is None:
            return None  # exec'd code naming a module that does not exist: hash it
        else:
            kind = "user"
        _kinds[module_name] = kind
    return _as_origin(kind, top)


def _qualname(obj: Any) -> str:
    """``module.qualname`` of a function, class or other named object, as far as it has one."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    name = name if isinstance(name, str) else ""
    return f"{module}.{name}" if isinstance(module, str) else name


# ------------------------------------------------------------------- code objects (memoised)


@dataclasses.dataclass(frozen=True, slots=True)
class _CodeInfo:
    digest: str
    """The code itself: bytecode, names, layout, constants, nested code objects."""
    chains: tuple[tuple[str, ...], ...]
    """Global names loaded, each with the attributes read from it (``helpers.clean``)."""
    imports: tuple[tuple[str, int, bool, tuple[str, ...]], ...]
    """Imports in the body: (name as written, level, has a from-list, names imported)."""
    names: frozenset[str]
    """Names and strings the code uses, to find what it reads of modules imported in it."""


_code_infos: weakref.WeakKeyDictionary[types.CodeType, _CodeInfo] = weakref.WeakKeyDictionary()


def _code_info(code: types.CodeType) -> _CodeInfo:
    info = _code_infos.get(code)
    if info is None:
        info = _code_infos[code] = _analyse(code)
    return info


def _const(value: object) -> Token:
    if isinstance(value, types.CodeType):
        return ("code", _code_info(value).digest)
    if type(value) is tuple:
        return ("tuple", *map(_const, value))
    if type(value) is frozenset:  # iterates in str-hash order: randomised per process
        return ("frozenset", *sorted(map(_const, value), key=repr))
    return ("...",) if value is Ellipsis else value


def _analyse(code: types.CodeType) -> _CodeInfo:
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
            inner = _code_info(const)
            chains.update(dict.fromkeys(inner.chains))
            imports.extend(inner.imports)
            names.update(inner.names)
    return _CodeInfo(_digest(token), tuple(chains), tuple(imports), frozenset(names))


# ------------------------------------------------------------------------------ the walk


@dataclasses.dataclass(frozen=True, slots=True)
class _Node:
    obj: object  # held, so that its id() stays unique while the Fingerprinter lives
    digest: str
    edges: tuple[object, ...]


class Fingerprinter:
    """Fingerprints computed together: each user function and class they reach is analysed
    once. Values are read when first reached, so keep one for a short task (fingerprinting
    the tasks of one run), not for the life of a process. Not thread-safe."""

    def __init__(self) -> None:
        self._nodes: dict[int, _Node] = {}
        self._functions: dict[int, tuple[object, str]] = {}
        """Digests of functions already fingerprinted (the tasks of a 100,000-node graph
        share a few functions), with the function held so its id() stays unique."""

    def code(self, fn: object) -> str:
        """Hex digest (xxh3-128) of ``fn``'s code and of all user code it depends on.

        ``fn`` is a function, a ``legato.Task`` (same digest as its function) or any other
        callable: a partial, a bound method, a class.
        """
        spec = _task_spec(fn)
        target = fn if spec is None else spec.fn
        if not isinstance(target, types.FunctionType):
            return self._code(fn, spec)
        known = self._functions.get(id(target))
        if known is None:
            known = self._functions[id(target)] = (target, self._code(fn, spec))
        return known[1]

    def _code(self, fn: object, spec: TaskSpec | None) -> str:
        edges: list[object] = []
        token = self._encode(fn if spec is None else spec.fn, edges)
        digests: dict[int, str] = {}
        while edges:
            obj = edges.pop()
            if id(obj) not in digests:
                node = self._node(obj)
                digests[id(obj)] = node.digest
                edges.extend(node.edges)
        return _digest((FORMAT, _PYTHON, token, tuple(sorted(set(digests.values())))))

    def graph(self, graph: Graph) -> str:
        """Hex digest of a pipeline's version: its structure (node keys, task names, bindings
        between nodes, map specs, literal arguments, run parameters and their defaults, the
        output binding) and the code fingerprint of every task.

        Task options (retries, timeouts, resources, tags) and the failure policy are left
        out: they change how a run goes, not what it computes.
        """
        nodes = tuple(
            (
                node.key,
                node.name,
                self.code(node.spec.fn),
                tuple(map(self._arg, node.args)),
                tuple((name, self._arg(a)) for name, a in node.kwargs),
                None if node.mapped is None else self._map(node.mapped),
                _edges(node),
                *(() if node.lane is None else (("lane", node.lane),)),
            )
            for node in graph.nodes.values()
        )
        params = tuple((p.name, None if p.required else self.code(p.default)) for p in graph.params)
        output = self._arg(graph.output)
        lanes = tuple(
            (
                lane.key,
                lane.pipeline,
                tuple((name, self._arg(arg)) for name, arg in lane.sources),
                lane.keyed,
                tuple(map(self.code, lane.by)),
                lane.output,
            )
            for lane in graph.lanes.values()
        )
        shape = (FORMAT, _PYTHON, "graph", graph.pipeline, params, output, nodes)
        return _digest((*shape, lanes) if lanes else shape)

    def _map(self, spec: MapSpec) -> Token:
        # Field by field: the item key functions hash as code (their repr holds an address).
        keys = spec.keys
        return (
            spec.positions,
            spec.names,
            spec.length,
            spec.size,
            None if keys is None else (keys.args, tuple(map(self.code, keys.by)), keys.known),
        )

    def _arg(self, arg: Arg) -> Token:
        if isinstance(arg, Lit):  # literals hash like code: they may hold functions
            return ("lit", self.code(arg.value))
        if isinstance(arg, Param):
            return ("param", arg.name)
        if isinstance(arg, Ref):
            return ("ref", arg.node, self.code(arg.path))
        if isinstance(arg, Seq):
            return ("seq", arg.as_tuple, *map(self._arg, arg.items))
        if isinstance(arg, Dict):
            return ("dict", *((self.code(k), self._arg(v)) for k, v in arg.items))
        if isinstance(arg, Given):
            return ("given", arg.source, self.code(arg.path))
        if isinstance(arg, LaneItem):
            return ("lane", arg.lane, arg.source, self.code(arg.path))
        return ("arg", type(arg).__qualname__)

    def _node(self, obj: object) -> _Node:
        node = self._nodes.get(id(obj))
        if node is None:
            edges: list[object] = []
            if isinstance(obj, types.FunctionType):
                token = self._function(obj, edges)
            else:
                assert isinstance(obj, type)
                token = self._class(obj, edges)
            node = self._nodes[id(obj)] = _Node(obj, _digest(token), tuple(edges))
        return node

    def _function(self, fn: types.FunctionType, edges: list[object]) -> Token:
        info = _code_info(fn.__code__)
        refs = [self._global(fn.__globals__, chain, edges) for chain in info.chains]
        for imported in info.imports:
            refs.extend(self._import(fn.__globals__, imported, info.names, edges))
        closure = tuple(
            (name, self._cell(cell, edges))
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False)
        )
        return (
            "function",
            fn.__qualname__,
            info.digest,
            self._encode(fn.__defaults__, edges),
            self._encode(fn.__kwdefaults__, edges),
            closure,
            tuple(refs),  # in the order of the code: deterministic
        )

    def _cell(self, cell: types.CellType, edges: list[object]) -> Token:
        try:
            contents = cell.cell_contents
        except ValueError:  # not assigned yet
            return ("empty",)
        return self._encode(contents, edges)

    def _class(self, cls: type, edges: list[object]) -> Token:
        meta = type(cls)
        members = cls.__members__ if issubclass(cls, enum.Enum) else {}
        return (
            "class",
            cls.__qualname__,
            None if meta is type else self._encode(meta, edges),
            tuple(self._encode(base, edges) for base in cls.__bases__ if base is not object),
            self._members(cls.__dict__, edges, frozenset()),
            tuple((name, self._encode(m.value, edges)) for name, m in members.items()),
        )

    def _members(
        self, table: Mapping[str, object], edges: list[object], path: frozenset[int]
    ) -> Token:
        """A class's or module's attributes. Dunder and sunder data (``__module__``,
        ``_member_map_``...) is bookkeeping that the rest already reflects."""
        return tuple(
            (name, self._encode(value, edges, path))
            for name, value in sorted(table.items())
            if not (name[:1] == "_" == name[-1:] and not isinstance(value, _CODE_LIKE))
        )

    # -- what code reads

    def _global(
        self, namespace: dict[str, Any], chain: tuple[str, ...], edges: list[object]
    ) -> Token:
        obj = namespace.get(chain[0], _MISSING)
        if obj is _MISSING:
            table = namespace.get("__builtins__", builtins)
            table = table if isinstance(table, dict) else vars(table)
            return None if chain[0] in table else ("missing", chain[0])
        path = chain[0]
        for attr in chain[1:]:
            if not (isinstance(obj, types.ModuleType) and _origin(obj.__name__) is None):
                break
            obj = _attribute(obj, attr)
            path += "." + attr
            if obj is _MISSING:
                return ("global", path, ("missing",))
        return ("global", path, self._encode(obj, edges))

    def _import(
        self,
        namespace: dict[str, Any],
        imported: tuple[str, int, bool, tuple[str, ...]],
        names: frozenset[str],
        edges: list[object],
    ) -> list[Token]:
        name, level, has_fromlist, froms = imported
        written = "." * level + name
        try:
            package = namespace.get("__package__") or ""
            absolute = importlib.util.resolve_name(written, package) if level else name
        except (ImportError, ValueError):
            return [("import", written, ("unresolved",))]
        module = sys.modules.get(absolute if has_fromlist else absolute.partition(".")[0])
        if module is None or absolute not in sys.modules:
            token = _unloaded(absolute)
            if isinstance(token, tuple) and len(token) == 2 and token[0] == "import":
                # A library or the standard library: the same token as once it is loaded,
                # so running the task (which imports it) does not change its fingerprint.
                lib_origin = token[1]
                return [] if lib_origin == _STD else [("import", written, *lib_origin)]
            return [("import", written, token)]
        origin = _origin(absolute)
        if origin is not None:  # the standard library says nothing, a library its version
            return [] if origin == _STD else [("import", written, *origin)]
        if froms:
            return [
                ("import", written, attr, self._encode(_attribute(module, attr), edges))
                for attr in froms
            ]
        # ``import helpers`` in a body: its attributes are read from a local variable, out of
        # sight of the global chains; take those whose names the code uses.
        out: list[Token] = []
        parts = absolute.split(".")
        for i in range(1, len(parts) + 1):
            sub = sys.modules.get(".".join(parts[:i]))
            if isinstance(sub, types.ModuleType) and _origin(sub.__name__) is None:
                table = vars(sub)
                used = sorted(n for n in names & table.keys() if not n.startswith("__"))
                out.extend(("import", written, n, self._encode(table[n], edges)) for n in used)
        return out

    # -- values

    def _encode(self, value: Any, edges: list[object], path: frozenset[int] = frozenset()) -> Token:
        """The canonical form of ``value``; the user functions and classes it holds are
        appended to ``edges``."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if id(value) in path or len(path) > _MAX_DEPTH:
            return ("cycle",)
        inner = path | {id(value)}
        if kind is tuple or kind is list:
            return (kind.__name__, *(self._encode(v, edges, inner) for v in value))
        if kind is dict:
            items = value.items()
            return (
                "dict",
                *((self._encode(k, edges, inner), self._encode(v, edges, inner)) for k, v in items),
            )
        if kind is set or kind is frozenset:
            return (
                kind.__name__,
                *sorted((self._encode(v, edges, inner) for v in value), key=repr),
            )
        if isinstance(value, types.FunctionType):
            origin = _origin(value.__module__)
            if origin is not None:
                return (*origin, _qualname(value))
            edges.append(value)
            return ("fn", value.__qualname__, _code_info(value.__code__).digest)
        if isinstance(value, type):
            origin = _origin(value.__module__)
            if origin is not None:
                return (*origin, _qualname(value))
            edges.append(value)
            return ("class", value.__qualname__)
        if isinstance(value, types.ModuleType):
            origin = _origin(value.__name__)
            if origin is not None:
                return (*origin, value.__name__)
            # A user module used whole (``getattr(helpers, name)``, an argument, a closure
            # cell): what is read of it cannot be known, so all of it counts, one level deep.
            table = {
                k: ("module", _short(v))
                if isinstance(v, types.ModuleType) and not _origin(v.__name__)
                else v
                for k, v in vars(value).items()
            }
            return ("module", _short(value), self._members(table, edges, inner))
        return self._other(value, edges, inner)

    def _other(self, value: Any, edges: list[object], path: frozenset[int]) -> Token:
        kind = type(value)
        origin = _origin(kind.__module__)
        label = kind.__qualname__ if origin is None else _qualname(kind)
        if isinstance(value, enum.Enum):
            return ("enum", label, value.name, self._encode(value.value, edges, path))
        spec = _task_spec(value)
        if spec is not None:
            return ("task", self._encode(spec.fn, edges, path))
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
            return (label, *(self._encode(p, edges, path) for p in parts))
        for scalar in _SCALARS:
            if isinstance(value, scalar):  # str subclasses, numpy.float64...
                return ("as", label, scalar(value))
        for container in _CONTAINERS:
            if isinstance(value, container):  # namedtuples, OrderedDict, Counter...
                return ("as", label, self._encode(container(value), edges, path))
        if isinstance(value, bytearray | memoryview):
            return (label, bytes(value))
        if isinstance(value, range):
            return ("range", value.start, value.stop, value.step)
        if isinstance(value, _BY_REPR):
            return ("repr", label, repr(value))
        if isinstance(value, re.Pattern):
            return ("regex", value.pattern, value.flags)
        if isinstance(value, types.CodeType):
            return ("code", _code_info(value).digest)
        array = _array(value)
        if array is not None:
            return array
        wrapped = getattr(value, "__wrapped__", None) if callable(value) else None
        if wrapped is not None:  # functools.lru_cache and other wrappers that keep it
            return ("wrapped", label, self._encode(wrapped, edges, path))
        if origin is None:  # an instance of a user class: the class and its plain state
            state = getattr(value, "__dict__", None)
            state = dict(state) if isinstance(state, dict) else None
            return ("object", self._encode(kind, edges, path), self._encode(state, edges, path))
        return (*origin, "instance", _qualname(kind), _qualname(value))


def _short(module: types.ModuleType) -> str:
    """A module's name without its package: fingerprints survive moving code."""
    return module.__name__.rpartition(".")[2]


def _attribute(module: types.ModuleType, attr: str) -> Any:
    value = getattr(module, attr, _MISSING)
    if value is _MISSING:  # a submodule not bound in its package yet
        value = sys.modules.get(f"{module.__name__}.{attr}", _MISSING)
    return value


def _task_spec(value: object) -> TaskSpec | None:
    """The spec of a ``legato.Task``, found by its ``spec`` attribute (``define.task``
    imports this module, so not by its class)."""
    try:
        spec = getattr(value, "spec", None)
    except Exception:  # a proxy whose __getattr__ raises something odd
        return None
    return spec if isinstance(spec, TaskSpec) else None


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


# ---------------------------------------------------------------------------- lazy imports


def _unloaded(absolute: str) -> Token:
    """A module a body imports that nobody has imported yet: importing it here could be slow
    (a model library) or have side effects, so it is found without importing anything, and
    a user module counts by its source and that of the user modules it imports, transitively
    (coarser than bytecode, but complete)."""
    sources: set[str] = set()
    seen: set[str] = set()
    todo = [absolute]
    while todo:
        name = todo.pop()
        path = None if name in seen else _find_source(name)
        seen.add(name)
        if path is None:
            continue
        kind = _kind_of_path(path)
        if kind != "user":
            if name == absolute:
                return ("import", _as_origin(kind, absolute.partition(".")[0]))
            continue
        with open(path, "rb") as f:
            data = f.read()
        sources.add(xxhash.xxh3_128_hexdigest(data))
        package = name if os.path.basename(path) == "__init__.py" else name.rpartition(".")[0]
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                todo.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                try:
                    base = importlib.util.resolve_name(
                        "." * node.level + (node.module or ""), package
                    )
                except (ImportError, ValueError):
                    continue
                todo.append(base)
                todo.extend(f"{base}.{alias.name}" for alias in node.names)  # submodules
    return ("sources", tuple(sorted(sources)))


def _find_source(name: str) -> str | None:
    """The file of module ``name``, found without importing it or its packages."""
    spec = getattr(sys.modules.get(name), "__spec__", None)
    if spec is None:
        parts = name.split(".")
        locations: Any = None
        try:
            for i in range(len(parts)):
                prefix = ".".join(parts[: i + 1])
                loaded = sys.modules.get(prefix)
                if loaded is not None and i < len(parts) - 1:
                    locations = getattr(loaded, "__path__", None)
                else:
                    spec = importlib.machinery.PathFinder.find_spec(prefix, locations)
                    locations = getattr(spec, "submodule_search_locations", None)
                if locations is None and i < len(parts) - 1:
                    return None
        except (ImportError, ValueError, OSError):
            return None
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) and os.path.isfile(origin) else None


# --------------------------------------------------------------------------------- public


def code_fingerprint(fn: object) -> str:
    """Hex digest (xxh3-128) of ``fn``'s code and of all user code it depends on; see
    :meth:`Fingerprinter.code`. Stable across processes and interpreter restarts on one
    Python minor version. For many functions, :func:`code_fingerprints` is much faster."""
    return Fingerprinter().code(fn)


def code_fingerprints(fns: Iterable[object]) -> list[str]:
    """:func:`code_fingerprint` of each of ``fns``, in order, walking the code they share
    once."""
    fingerprinter = Fingerprinter()
    return [fingerprinter.code(fn) for fn in fns]


def graph_fingerprint(graph: Graph) -> str:
    """Hex digest of a pipeline's version; see :meth:`Fingerprinter.graph`."""
    return Fingerprinter().graph(graph)


def _edges(node: Node) -> Token:
    """A node's dependencies as digests have always written them, so that recorded versions
    keep theirs: its edges as one list, with its wait-only edges apart where it has some
    outside every branch and ``finally_()`` block (there they can only be ``after=``'s)."""
    if not node.after or node.branches or node.final:
        return node.upstream
    reads = tuple(up for up in node.upstream if up not in node.waits)
    return (reads, node.after)
