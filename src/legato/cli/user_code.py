"""What a user's pipeline module did wrong while it was imported, shown as the user's own
code: the traceback without the frames of legato and of Python's import machinery, which
lie between the command and the user's first line and say nothing about the mistake.

A ``SyntaxError`` keeps its file, line and caret. Frames of other libraries stay: an error
raised inside one, called from the user's module, is explained by both.
"""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path

import legato

__all__ = ["user_traceback"]

_HIDDEN = (Path(legato.__file__).parent, Path(importlib.__file__).parent)
"""Folders whose frames are not the user's: legato's package and importlib's."""


def user_traceback(exc: BaseException) -> str:
    """``exc`` formatted as Python prints it, with its chained exceptions, but only the
    frames of the user's files."""
    formatted = traceback.TracebackException.from_exception(exc)
    _keep_user_frames(formatted, seen=set())
    return "".join(formatted.format())


def _keep_user_frames(formatted: traceback.TracebackException, *, seen: set[int]) -> None:
    if id(formatted) in seen:
        return
    seen.add(id(formatted))
    formatted.stack = traceback.StackSummary.from_list(
        [frame for frame in formatted.stack if _is_users(frame.filename)]
    )
    for linked in (formatted.__cause__, formatted.__context__, *(formatted.exceptions or ())):
        if linked is not None:
            _keep_user_frames(linked, seen=seen)


def _is_users(filename: str) -> bool:
    if filename.startswith("<frozen importlib"):
        return False
    path = Path(filename)
    return not any(path.is_relative_to(folder) for folder in _HIDDEN)
