"""Why a command cannot write the file it was told to (``-o FILE``), said as the fix."""

from __future__ import annotations

import errno
from pathlib import Path

from legato.cli.exits import CANT_WRITE, CommandError

__all__ = ["cannot_write"]


def cannot_write(output: str, exc: OSError) -> CommandError:
    """The error that ends a command whose output file ``output`` could not be created or
    replaced (``exc`` says why), naming the path and what to change."""
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if exc.errno == errno.ENOENT and not folder.is_dir():
        why = f"folder {folder} does not exist: create it first (mkdir -p {folder})"
    elif exc.errno == errno.ENOTDIR:
        why = f"{folder} is not a folder"
    elif exc.errno == errno.EISDIR:
        why = f"it is a folder: give a file name in it (-o {path / 'NAME'})"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"{folder} may not be written by this user ({exc.strerror})"
    else:
        why = exc.strerror or str(exc)
    return CommandError(f"cannot write {output}: {why}; nothing was written", CANT_WRITE)
