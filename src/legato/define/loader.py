"""Finding a pipeline from a target string: ``pkg.module:name`` or ``path/to/file.py:name``."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import cloudpickle

from legato.define.pipeline import Pipeline
from legato.define.task import Task
from legato.errors import DefinitionError

__all__ = ["SYNTHETIC_PREFIX", "load_module", "load_pipeline", "target_of"]

_FIX = "write TARGET as path/to/file.py:pipeline_name or package.module:pipeline_name"
SYNTHETIC_PREFIX = "legato_user_"
"""Module names given to pipeline files loaded by path."""


def _import_file(path: Path) -> Any:
    path = path.resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        # Siblings of the file import as they do when it runs as a script (in worker
        # processes too, which inherit sys.path).
        sys.path.insert(0, folder)
    # A name made from the whole path: two files called pipeline.py never meet, and worker
    # processes, which could import the wrong one by its short name, get the file's
    # functions by value instead.
    name = SYNTHETIC_PREFIX + "".join(c if c.isalnum() else "_" for c in str(path))
    existing = sys.modules.get(name)
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DefinitionError(f"cannot import {path}", fix="give the path of a Python file (.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    cloudpickle.register_pickle_by_value(module)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_pipeline(target: str) -> Pipeline[..., Any]:
    """The pipeline named by ``target``: ``package.module:name`` or ``file.py:name``.

    ``name`` may be omitted when the module defines exactly one pipeline.
    """
    where, _, attr = target.rpartition(":") if ":" in target else (target, "", "")
    if not where:
        where, attr = target, ""
    module = load_module(where)
    fix = _FIX
    if attr:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                raise DefinitionError(f"{where} has no attribute {attr!r}", fix=fix)
        if not isinstance(obj, Pipeline):
            raise DefinitionError(
                f"{where}:{attr} is a {type(obj).__name__}, not a @pipeline",
                fix="point TARGET at a function decorated with @pipeline",
            )
        return obj
    found: dict[int, tuple[str, Pipeline[..., Any]]] = {}
    for name, value in vars(module).items():
        if isinstance(value, Pipeline):
            found.setdefault(id(value), (name, value))  # an alias names it once
    if not found:
        raise DefinitionError(
            f"{where} defines no @pipeline{_contents(module)}",
            fix="decorate the function that calls the tasks with @pipeline (from legato "
            "import pipeline), or point TARGET at the module that defines the pipeline",
        )
    if len(found) > 1:
        names = [name for name, _ in found.values()]
        raise DefinitionError(
            f"{where} defines {len(names)} pipelines ({', '.join(names)}); say which one",
            fix=f"name one after a colon: {where}:{names[0]}",
        )
    return next(iter(found.values()))[1]


def load_module(where: str) -> Any:
    """The module ``where`` names: ``path/to/file.py`` (imported under a name made from its
    path) or ``package.module``."""
    fix = _FIX
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise DefinitionError(f"no such file: {where}", fix=fix)
        return _import_file(path)
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if not _names_the_target(exc, where):
            raise  # the module was found, and an import of its own failed
        raise DefinitionError(
            f"cannot import module {where!r}: {exc}",
            fix=f"{fix}; check that the module is on the Python path",
        ) from None


def _contents(module: Any) -> str:
    """What ``module`` defines instead of a pipeline: its tasks and public functions (not
    those it imports)."""
    tasks: list[str] = []
    functions: list[str] = []
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if isinstance(value, Task):
            tasks.append(name)
        elif inspect.isfunction(value):
            functions.append(name)
    parts = [
        f"{kind}: {', '.join(names)}"
        for kind, names in (("tasks", tasks), ("functions", functions))
        if names
    ]
    return f" (it defines {'; '.join(parts)})" if parts else ""


def _names_the_target(exc: ModuleNotFoundError, module: str) -> bool:
    """Whether the module that was not found is ``module`` or a package above it."""
    parts = module.split(".")
    return exc.name in {".".join(parts[: i + 1]) for i in range(len(parts))}


def target_of(pipeline: Pipeline[..., Any]) -> str:
    """A target string that loads ``pipeline`` again in another process, or ``""``."""
    module_name = pipeline.fn.__module__
    qualname = pipeline.fn.__qualname__
    if "<locals>" in qualname:
        return ""
    module = sys.modules.get(module_name)
    if module is None:
        return ""
    attr = next((k for k, v in vars(module).items() if v is pipeline), None)
    if attr is None:
        return ""
    file = getattr(module, "__file__", None)
    if module_name == "__main__" or module_name.startswith("legato_user_"):
        return f"{Path(file).resolve()}:{attr}" if file else ""
    return f"{module_name}:{attr}"
