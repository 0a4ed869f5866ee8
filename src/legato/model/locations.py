"""Where a definition error points: the user's line, found past legato's own frames."""

from __future__ import annotations

import os
import sys
from types import FrameType

from legato.errors import DefinitionError
from legato.model.ids import SourceLocation

__all__ = ["invalid", "user_location"]

_LEGATO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

_SEEN: dict[tuple[str, int, str], SourceLocation] = {}
"""Locations made so far, one object each: a pipeline body that calls a task from one line
a million times (a loop) gets one location, not a million (84 bytes each, with the line's
int)."""
_SEEN_MAX = 4096


def _is_legato(frame: FrameType) -> bool:
    # By file, and by module for code generated at import (dataclass __init__s run from
    # "<string>" with the defining module's globals). dataclasses.replace() only forwards
    # to __init__: the line to show is the one that called it.
    if frame.f_code.co_filename.startswith(_LEGATO_DIR):
        return True
    module = frame.f_globals.get("__name__", "")
    return isinstance(module, str) and (
        module in ("legato", "dataclasses") or module.startswith("legato.")
    )


def user_location() -> SourceLocation | None:
    """The innermost frame outside legato's own package: the user's line that a
    :class:`~legato.errors.DefinitionError` points at."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and _is_legato(frame):
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    seen = (code.co_filename, frame.f_lineno, code.co_name)
    location = _SEEN.get(seen)
    if location is None:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        location = _SEEN[seen] = SourceLocation(filename=seen[0], lineno=seen[1], function=seen[2])
    return location


def invalid(problem: str, fix: str, task: str | None = None) -> DefinitionError:
    """A definition error pointing at the user's line that built the bad option."""
    return DefinitionError(problem, fix=fix, task=task, location=user_location())
