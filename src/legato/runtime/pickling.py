"""How calls and outputs cross into worker processes.

Functions decorated with ``@task`` in importable modules travel by reference (module and
name), so workers import them like any code; functions from ``__main__`` or a notebook travel
by value through cloudpickle. Outputs use the standard pickle and fall back to cloudpickle for
objects it cannot handle (lambdas, local classes).
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
import types
from typing import Any

import cloudpickle

__all__ = ["dumps", "dumps_output", "load_task_function"]


def load_task_function(module: str, qualname: str) -> Any:
    """The plain function behind the task ``module.qualname`` (used when unpickling)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj.spec.fn


def _task_reference(fn: types.FunctionType) -> tuple[str, str] | None:
    module_name = getattr(fn, "__module__", None)
    if not module_name or module_name == "__main__" or module_name.startswith("legato_user_"):
        return None  # not importable by name in a worker: by value (see define.loader)
    module = sys.modules.get(module_name)
    if module is None or "<locals>" in fn.__qualname__:
        return None
    obj: Any = module
    for part in fn.__qualname__.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    spec = getattr(obj, "spec", None)
    if spec is not None and getattr(spec, "fn", None) is fn:
        return module_name, fn.__qualname__
    return None


class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType):
            ref = _task_reference(obj)
            if ref is not None:
                return load_task_function, ref
        return super().reducer_override(obj)


def dumps(obj: Any) -> bytes:
    """Pickle anything a call carries (functions and literals included)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def dumps_output(obj: Any) -> bytes:
    """Pickle a task's output: the fast standard pickle, cloudpickle when it must."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return dumps(obj)
