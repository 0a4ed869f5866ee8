"""Where a definition error points: the user's line, found past legato's own frames."""

from __future__ import annotations

import os
import sys
from types import FrameType

from legato.errors import DefinitionError
from legato.model.ids import SourceLocation

__all__ = ["invalid", "user_location"]

_LEGATO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


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
    return SourceLocation(
        filename=frame.f_code.co_filename, lineno=frame.f_lineno, function=frame.f_code.co_name
    )


def invalid(problem: str, fix: str, task: str | None = None) -> DefinitionError:
    """A definition error pointing at the user's line that built the bad option."""
    return DefinitionError(problem, fix=fix, task=task, location=user_location())
