"""Where code comes from: user code (hashed by its code), the standard library (by name) or an
installed library (by name and version), judged by the file a module was loaded from; and
modules a body imports that nobody has imported yet, judged without importing them.

See :mod:`legato.define.fingerprint` for the rules and why they are the safe side.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
import sysconfig
from typing import Any

import xxhash

from legato._version import __version__
from legato.define.code_objects import Token

__all__ = ["STD", "Origin", "as_origin", "kind_of_path", "origin_of", "qualname", "unloaded"]

STD = ("std",)
Origin = tuple[str, ...] | None
"""Where code comes from: None (user code), ``("std",)`` or ``("lib", name, version)``."""


@functools.cache
def _dirs(*keys: str) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(_norm(paths[k]) + os.sep for k in keys if paths.get(k))


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def kind_of_path(path: str) -> str:
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


def as_origin(kind: str, top: str) -> Origin:
    return None if kind == "user" else STD if kind == "std" else _library(top)


_kinds: dict[str, str] = {}


def origin_of(module_name: object) -> Origin:
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
            kind = kind_of_path(location)
        elif top in sys.stdlib_module_names:
            kind = "std"
        elif module is None:
            return None  # exec'd code naming a module that does not exist: hash it
        else:
            kind = "user"
        _kinds[module_name] = kind
    return as_origin(kind, top)


def qualname(obj: Any) -> str:
    """``module.qualname`` of a function, class or other named object, as far as it has one."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    name = name if isinstance(name, str) else ""
    return f"{module}.{name}" if isinstance(module, str) else name


def unloaded(absolute: str) -> Token:
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
        kind = kind_of_path(path)
        if kind != "user":
            if name == absolute:
                return ("import", as_origin(kind, absolute.partition(".")[0]))
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
