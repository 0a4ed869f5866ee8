"""What the model server writes back: JSON that every client can read.

:func:`encode` is **the** way an answer becomes bytes, for ``legato serve`` and for the
in-process ``SmokeTest`` alike (which reads them back, so it sees the predictions a client
of the server would see):

- arrays, NumPy scalars and pandas series become lists and numbers (:func:`jsonable`);
- a NaN or an infinity becomes ``null``: JSON has no such numbers, and a strict parser (a
  browser's ``JSON.parse``) refuses Python's ``NaN`` token;
- the text is ASCII, non-ASCII characters escaped: a message may quote what a client sent,
  and a lone surrogate (``"\\ud800"`` is valid JSON) has no UTF-8 form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["encode", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as JSON values: arrays and NumPy scalars become lists and numbers."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return value


def encode(content: Any) -> bytes:
    """The JSON bytes of ``content`` (see the module's docstring). Raises ``TypeError`` or
    ``ValueError`` for what JSON cannot hold (a model's answer of bytes, say)."""
    plain = jsonable(content)
    try:
        text = _dumps(plain)
    except ValueError:  # a NaN or an infinity somewhere: walk it only then (it is slower)
        text = _dumps(_finite(plain))
    return text.encode("ascii")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
