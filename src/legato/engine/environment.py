"""What a run records about where it ran: Python, platform, packages, git, host and user."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["GitProbe", "Snapshot", "git_state"]


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
_GIT_TIMEOUT_S = 5.0


def git_state(folder: Path) -> dict[str, Any]:
    """Commit, root and dirty flag of the git repository holding ``folder``, if any (see
    :class:`GitProbe`)."""
    return GitProbe(folder).facts()


class GitProbe:
    """One ``git status`` in ``folder``, started when this is made and read by
    :meth:`facts`, so that git runs while the caller does other work.

    One ``git status`` answers for the commit (its branch header) and the dirty flag: a
    run pays for one git process, not two. The root is the nearest folder holding ``.git``
    (a folder, or a file in a worktree or submodule), as ``git rev-parse --show-toplevel``
    would say. A git that hangs is killed after :data:`_GIT_TIMEOUT_S`; a missing one, a
    folder in no repository or one without a commit give no facts."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._found: dict[str, Any] | None = None
        try:
            self._git: subprocess.Popen[str] | None = subprocess.Popen(
                ["git", "-C", str(folder), *_STATUS_ARGS],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:  # no git here
            self._git = None

    def facts(self) -> dict[str, Any]:
        """What git said (waiting for it, and reaping its process, the first time)."""
        if self._found is None:
            git, self._git = self._git, None
            self._found = _read(self._folder, git) if git is not None else {}
        return self._found


def _read(folder: Path, git: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        status, _ = git.communicate(timeout=_GIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        git.kill()
        git.communicate()
        return {}
    if git.returncode != 0:
        return {}
    commit, dirty = None, False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split()[2]
        elif line and not line.startswith("#"):
            dirty = True  # a changed tracked file
    root = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
    if commit is None or commit == "(initial)" or root is None:
        return {}
    return {"root": str(root), "commit": commit, "dirty": dirty}


class Snapshot:
    """The environment a run records (Python, platform, packages, host, user, and the git
    facts of the repository holding the pipeline's source file), its git process started
    when this is made and read when it is called: git runs while the caller goes on
    preparing the run.

    The process is started and read on the caller's thread, not waited for on a thread of
    its own: such a thread needs the interpreter lock at each step of ``subprocess`` while
    the caller, preparing the run, holds it, and the wait for it grew from git's 3 ms to
    7 ms of a run's preparation (its lock handed over only every switch interval). Calling
    it reads git's answer and reaps its process."""

    def __init__(self, source_file: str | None) -> None:
        folder = Path(source_file).resolve().parent if source_file else Path.cwd()
        self._git = GitProbe(folder)

    def __call__(self) -> dict[str, Any]:
        return _snapshot(self._git.facts())


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
