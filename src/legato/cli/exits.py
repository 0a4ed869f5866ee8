"""What the ``legato`` command's exit status means, and the error that carries one."""

from __future__ import annotations

__all__ = ["CANCELLED", "CANT_WRITE", "FAILED", "OK", "USAGE", "CommandError"]

OK = 0
"""The command did what it was asked; for ``run`` and ``resume``: the run succeeded."""
FAILED = 1
"""The run failed (it is recorded and can be resumed), or a check or an operation failed."""
USAGE = 2
"""Nothing was done: the command line, the target or the pipeline definition is wrong (an
unknown parameter, a bad value, a run id that matches no run), or the command cannot start
as asked (``legato serve``: its port is in use, the ``serve`` extra is not installed).
Typer's convention."""
CANT_WRITE = 73
"""An output file (``-o FILE``) cannot be written: its folder does not exist or may not be
written, or FILE is a folder; nothing was written. ``EX_CANTCREAT`` of BSD's sysexits.h."""
CANCELLED = 130
"""The run was cancelled (Ctrl-C, SIGTERM, ``legato cancel``); it is recorded and can be
resumed. 128 + SIGINT, as shells report an interrupted command."""


class CommandError(Exception):
    """A problem to report in one message (no traceback), with the exit status to end with."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
