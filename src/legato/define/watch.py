"""The watch over a pipeline body's plain calls: a placeholder goes only to tasks.

A pipeline body runs once, with placeholders for values that exist only at run time
(:mod:`legato.define.placeholders`). A task or a ``@pipeline`` called with one records it;
a plain Python function called with one would run now, on no value, and hide the step
from the graph. While a body is traced, :class:`BodyWatch` is the ``sys.setprofile`` hook
that sees every Python function the body calls directly (or from a comprehension in it)
and refuses one handed a placeholder, at the line of the call. It knows the code of the
bodies being traced and what a placeholder is, nothing of the graph; legato's own code is
trusted, and the tracer turns the hook off while it records (its own bookkeeping is hot).
"""

from __future__ import annotations

import inspect
import os
from types import CodeType, FrameType
from typing import Any

from legato.define.placeholders import find_placeholder
from legato.errors import DefinitionError
from legato.model.ids import SourceLocation

__all__ = ["BodyWatch"]

_LEGATO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_COMPREHENSIONS = frozenset({"<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>"})


class BodyWatch:
    """Refuses plain functions handed a placeholder by the bodies of one pipeline."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.codes: set[CodeType] = set()
        """The code of every body traced (the pipeline's and its sub-pipelines')."""

    def check(self, frame: FrameType, event: str, arg: Any) -> None:
        """The profile hook (``sys.setprofile(watch.check)``)."""
        # Only calls of Python functions made directly from a pipeline body (or a
        # comprehension in one) are checked; legato's own code is trusted.
        if event != "call":
            return
        code = frame.f_code
        if code.co_filename.startswith(_LEGATO_DIR) or code.co_name in _COMPREHENSIONS:
            return
        caller = frame.f_back
        while caller is not None and caller.f_code.co_name in _COMPREHENSIONS:
            caller = caller.f_back
        if caller is None or caller.f_code not in self.codes:
            return
        nargs = code.co_argcount + code.co_kwonlyargcount
        nargs += bool(code.co_flags & inspect.CO_VARARGS)
        nargs += bool(code.co_flags & inspect.CO_VARKEYWORDS)
        f_locals = frame.f_locals
        for name in code.co_varnames[:nargs]:
            found = find_placeholder(f_locals.get(name))
            if found is not None:
                raise DefinitionError(
                    f"{code.co_name}() is not a task but was given {found._describe()} "
                    f"(argument {name!r}), which has no value until {found._known_when()}",
                    fix=f"decorate {code.co_name} with @task so it runs with real values, or "
                    f"with @pipeline if it only wires tasks together",
                    task=found._task_key(),
                    pipeline=self.pipeline,
                    location=SourceLocation(
                        filename=caller.f_code.co_filename,
                        lineno=caller.f_lineno,
                        function=caller.f_code.co_name,
                    ),
                )
