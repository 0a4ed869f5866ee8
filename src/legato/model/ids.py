"""Identifiers and source locations."""

from __future__ import annotations

import linecache
import os
import time
from dataclasses import dataclass

__all__ = ["SourceLocation", "new_run_id"]

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_run_id() -> str:
    """A new run id: 10 characters of millisecond time then 10 random ones (ULID layout,
    lower-case Crockford base32), so ids sort by creation time and a short prefix is unique
    enough to type."""
    value = (int(time.time() * 1000) << 50) | int.from_bytes(os.urandom(7), "big") >> 6
    chars = []
    for _ in range(20):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLocation:
    """A line in a user's file, captured when a task is called in a pipeline body."""

    filename: str
    lineno: int
    function: str

    def render(self) -> str:
        """``file:line in function:  source line`` as shown in error messages."""
        path = self.filename
        try:
            relative = os.path.relpath(path)
            if not relative.startswith(".."):
                path = relative
        except ValueError:  # another drive on Windows
            pass
        text = linecache.getline(self.filename, self.lineno).strip()
        where = f"{path}:{self.lineno} in {self.function}"
        return f"{where}:  {text}" if text else where
