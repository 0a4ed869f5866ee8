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
canonical form (:mod:`legato.define.code_values`): ``None``, bools, numbers, strings,
bytes, tuples, lists, dicts (in order), sets (sorted), enum members, dataclass instances,
instances of user classes (their ``__dict__``), partials, dates, decimals, paths, regular
expressions, numpy arrays and scalars of plain dtypes (by their bytes). Any other object
counts by its type's qualified name (and library version) only: changing such an object, a
model held in a global say, is not seen; bump the task's cache version for those. Module
and file names are not hashed, so moving unchanged code to another module keeps its
fingerprint.

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

import builtins
import dataclasses
import enum
import importlib.util
import sys
import types
from collections.abc import Iterable
from typing import Any

from legato.define.code_objects import FORMAT, PYTHON, Token, code_info, digest
from legato.define.code_origin import STD, origin_of, unloaded
from legato.define.code_values import encode, encode_members, task_spec
from legato.define.graph import Graph
from legato.define.versions import version_of
from legato.model.specs import TaskSpec

__all__ = ["FORMAT", "Fingerprinter", "code_fingerprint", "code_fingerprints", "graph_fingerprint"]

_MISSING: Any = object()


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
        spec = task_spec(fn)
        target = fn if spec is None else spec.fn
        if not isinstance(target, types.FunctionType):
            return self._code(fn, spec)
        known = self._functions.get(id(target))
        if known is None:
            known = self._functions[id(target)] = (target, self._code(fn, spec))
        return known[1]

    def _code(self, fn: object, spec: TaskSpec | None) -> str:
        edges: list[object] = []
        token = encode(fn if spec is None else spec.fn, edges)
        digests: dict[int, str] = {}
        while edges:
            obj = edges.pop()
            if id(obj) not in digests:
                node = self._node(obj)
                digests[id(obj)] = node.digest
                edges.extend(node.edges)
        return digest((FORMAT, PYTHON, token, tuple(sorted(set(digests.values())))))

    def graph(self, graph: Graph) -> str:
        """Hex digest of a pipeline's version; see :func:`legato.define.versions.version_of`."""
        return version_of(graph, self.code)

    def _node(self, obj: object) -> _Node:
        node = self._nodes.get(id(obj))
        if node is None:
            edges: list[object] = []
            if isinstance(obj, types.FunctionType):
                token = self._function(obj, edges)
            else:
                assert isinstance(obj, type)
                token = self._class(obj, edges)
            node = self._nodes[id(obj)] = _Node(obj, digest(token), tuple(edges))
        return node

    def _function(self, fn: types.FunctionType, edges: list[object]) -> Token:
        info = code_info(fn.__code__)
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
            encode(fn.__defaults__, edges),
            encode(fn.__kwdefaults__, edges),
            closure,
            tuple(refs),  # in the order of the code: deterministic
        )

    def _cell(self, cell: types.CellType, edges: list[object]) -> Token:
        try:
            contents = cell.cell_contents
        except ValueError:  # not assigned yet
            return ("empty",)
        return encode(contents, edges)

    def _class(self, cls: type, edges: list[object]) -> Token:
        meta = type(cls)
        members = cls.__members__ if issubclass(cls, enum.Enum) else {}
        return (
            "class",
            cls.__qualname__,
            None if meta is type else encode(meta, edges),
            tuple(encode(base, edges) for base in cls.__bases__ if base is not object),
            encode_members(cls.__dict__, edges, frozenset()),
            tuple((name, encode(m.value, edges)) for name, m in members.items()),
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
            if not (isinstance(obj, types.ModuleType) and origin_of(obj.__name__) is None):
                break
            obj = _attribute(obj, attr)
            path += "." + attr
            if obj is _MISSING:
                return ("global", path, ("missing",))
        return ("global", path, encode(obj, edges))

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
            token = unloaded(absolute)
            if isinstance(token, tuple) and len(token) == 2 and token[0] == "import":
                # A library or the standard library: the same token as once it is loaded,
                # so running the task (which imports it) does not change its fingerprint.
                lib_origin = token[1]
                return [] if lib_origin == STD else [("import", written, *lib_origin)]
            return [("import", written, token)]
        origin = origin_of(absolute)
        if origin is not None:  # the standard library says nothing, a library its version
            return [] if origin == STD else [("import", written, *origin)]
        if froms:
            return [
                ("import", written, attr, encode(_attribute(module, attr), edges)) for attr in froms
            ]
        # ``import helpers`` in a body: its attributes are read from a local variable, out of
        # sight of the global chains; take those whose names the code uses.
        out: list[Token] = []
        parts = absolute.split(".")
        for i in range(1, len(parts) + 1):
            sub = sys.modules.get(".".join(parts[:i]))
            if isinstance(sub, types.ModuleType) and origin_of(sub.__name__) is None:
                table = vars(sub)
                used = sorted(n for n in names & table.keys() if not n.startswith("__"))
                out.extend(("import", written, n, encode(table[n], edges)) for n in used)
        return out


def _attribute(module: types.ModuleType, attr: str) -> Any:
    value = getattr(module, attr, _MISSING)
    if value is _MISSING:  # a submodule not bound in its package yet
        value = sys.modules.get(f"{module.__name__}.{attr}", _MISSING)
    return value


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
