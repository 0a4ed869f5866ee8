"""What a run records about where it ran: Python, platform, packages, git, host and user."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Snapshot", "git_state", "snapshot_soon"]


@functools.cache
def _packages() -> dict[str, str]:
    # Names and versions from the *.dist-info folder names on sys.path: a directory listing
    # per entry instead of parsing every METADATA file (150 ms -> a few ms on a big venv).
    out: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                stem = name[: -len(".dist-info")]
                dist, sep, version = stem.partition("-")
                if sep:
                    out.setdefault(dist.lower().replace("_", "-"), version)
    if not out:  # an unusual layout: ask importlib.metadata
        for dist_obj in metadata.distributions():
            dist_name = dist_obj.metadata["Name"]
            if dist_name:
                out.setdefault(dist_name.lower(), dist_obj.version)
    return dict(sorted(out.items()))


_STATUS_ARGS = ("status", "--porcelain=v2", "--branch", "--untracked-files=no")


def git_state(folder: Path) -> dict[str, Any]:
    """Commit, root and dirty flag of the git repository holding ``folder``, if any.

    One ``git status`` answers for the commit (its branch header) and the dirty flag: a
    run pays for one git process, not two. The root is the nearest folder holding ``.git``
    (a folder, or a file in a worktree or submodule), as ``git rev-parse --show-toplevel``
    would say."""
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), *_STATUS_ARGS],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    commit, dirty = None, False
    for line in out.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split()[2]
        elif line and not line.startswith("#"):
            dirty = True  # a changed tracked file
    root = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
    if commit is None or commit == "(initial)" or root is None:
        return {}
    return {"root": str(root), "commit": commit, "dirty": dirty}


Snapshot = Callable[[], dict[str, Any]]
"""The environment of this process when called: Python, platform, packages, host, user,
and the git facts of the repository holding the pipeline's source file."""


def snapshot_soon(source_file: str | None) -> Snapshot:
    """The environment a run records, its git process started now on a thread of its own:
    it runs while the caller goes on preparing the run, and is waited for when the snapshot
    is taken. A run that fails before then leaves the thread to end by itself (``git`` has
    a timeout)."""
    folder = Path(source_file).resolve().parent if source_file else Path.cwd()
    found: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: found.append(git_state(folder)), name="legato-git", daemon=True
    )
    thread.start()

    def taken() -> dict[str, Any]:
        thread.join()
        return _snapshot(found[0] if found else {})

    return taken


def _snapshot(git: dict[str, Any]) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "user": user,
        "cwd": os.getcwd(),
        "argv": list(sys.argv),
        "packages": _packages(),
        "git": git,
    }
