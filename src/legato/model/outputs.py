"""How a pipeline's return value is made, as plain JSON a run records (``RunStarted.output``).

A pipeline returns task outputs, parameters and values written in its body, in lists, tuples
and dicts. Its binding (:class:`~legato.model.values.Arg`) says which, but it holds live
objects; the run records this description instead, so that ``legato runs show`` can show a
run's output from the run store alone, without importing the pipeline's code (which may
have changed since, or not import here at all). It is for showing: a value written in the
body is kept as its ``repr`` (cut short, secrets masked), never to be loaded again.

Each node is one JSON object:

- ``{"task": KEY, "path": [...]}``: the output of task ``KEY``, indexed by ``path`` (ints
  and strings; another index as ``{"repr": REPR}``);
- ``{"param": NAME}``: the run parameter ``NAME``;
- ``{"literal": REPR}``: a value written in the pipeline body;
- ``{"list": [...]}``, ``{"tuple": [...]}``: their items;
- ``{"dict": [[KEY_REPR, NODE], ...]}``: its items in order, keys as their ``repr``.
"""

from __future__ import annotations

from typing import Any

from legato.model.values import Arg, Dict, Lit, Param, Ref, Seq
from legato.secret_values import mask

__all__ = ["MAX_LITERAL", "describe_output"]

MAX_LITERAL = 200
"""Characters of a literal's ``repr`` kept (an ellipsis marks the cut)."""


def describe_output(arg: Arg) -> dict[str, Any]:
    """The JSON description of the binding ``arg`` (see the module)."""
    if isinstance(arg, Ref):
        return {"task": arg.node, "path": [_index(step) for step in arg.path]}
    if isinstance(arg, Param):
        return {"param": arg.name}
    if isinstance(arg, Lit):
        return {"literal": _short(repr(arg.value))}
    if isinstance(arg, Seq):
        return {"tuple" if arg.as_tuple else "list": [describe_output(a) for a in arg.items]}
    if isinstance(arg, Dict):
        return {"dict": [[_short(repr(key)), describe_output(a)] for key, a in arg.items]}
    raise TypeError(f"cannot describe {type(arg).__name__}")


def _index(step: Any) -> int | str | dict[str, str]:
    if isinstance(step, int | str) and not isinstance(step, bool):
        return step
    return {"repr": _short(repr(step))}


def _short(text: str) -> str:
    text = mask(text)
    return text if len(text) <= MAX_LITERAL else text[: MAX_LITERAL - 1] + "…"
