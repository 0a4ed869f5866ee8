"""Finding the project: the folder whose settings and store every command run in it, or in
any folder below it, uses, found upwards from the working folder as git finds ``.git``.

From the start folder upwards, the search stops at the first folder holding ``.git`` (the
repository root: a settings file above a repository is not the repository's, and may be
anyone's, as in ``/tmp``) or at the filesystem root. Within that range the project root is:

1. the nearest folder holding ``legato.toml``, or a ``pyproject.toml`` with a
   ``[tool.legato]`` table (``legato.toml`` first in one folder; a ``pyproject.toml``
   without the table is passed over): the settings file is there;
2. else the nearest folder holding a ``.legato`` folder: the default store a run made there;
3. else the repository root;
4. else the start folder.

A settings file wins over a nearer ``.legato`` folder: the file says where the store is.
So ``legato runs`` in ``notebooks/`` reads the runs ``make demo`` recorded from the
repository root, and the first run in a fresh repository puts ``.legato`` at its root,
wherever it was started.
"""

from __future__ import annotations

import re
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from legato.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "HOME_FOLDER",
    "ConfigFile",
    "Project",
    "find_project",
]

CONFIG_FILE = "legato.toml"
"""The settings file's name (``[tool.legato]`` of ``pyproject.toml`` also counts)."""
HOME_FOLDER = ".legato"
"""The default home's name, in the project root; an existing one marks a project."""
_REPOSITORY = ".git"
"""A folder or a file (a worktree's, a submodule's): either marks a repository root."""


class ConfigFile(NamedTuple):
    """A settings file as read: what :mod:`legato.config` validates."""

    path: Path
    table: object
    """The legato table as parsed: the whole of legato.toml, or ``[tool.legato]`` of
    pyproject.toml (not checked to be a table here: config's errors say so)."""
    prefix: str
    """How keys of ``table`` are written in the file: ``""`` or ``"tool.legato."``."""
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """Where the project is and why: relative paths of its settings file count from
    ``root``, and the default home is ``root / ".legato"``."""

    root: Path
    start: Path
    """The folder the search started from (the working folder)."""
    marker: str
    """What made ``root`` the root: ``"legato.toml"``, ``"pyproject.toml"``, ``".legato"``,
    ``".git"``, or ``""`` (nothing was found: the start folder)."""
    boundary: Path
    """The last folder searched: the repository root, else the filesystem root."""

    def describe(self) -> str:
        """Why ``root`` is the project root, in a sentence's words (for messages that must
        say where legato looked)."""
        files = f"{CONFIG_FILE} or [tool.legato]"
        range_ = (
            f"in {self.start}"
            if self.root == self.start
            else f"from {self.start} up to {self.boundary}"
        )
        if self.marker in (CONFIG_FILE, "pyproject.toml"):
            return f"{self.root}, which holds {self.root / self.marker}"
        if self.marker == HOME_FOLDER:
            return f"{self.root}, the nearest folder holding {HOME_FOLDER} (no {files} {range_})"
        if self.marker == _REPOSITORY:
            return f"{self.root}, the repository root (no {files} and no {HOME_FOLDER} {range_})"
        return (
            f"{self.root}, the working folder (no {CONFIG_FILE}, [tool.legato], {HOME_FOLDER} "
            f"or {_REPOSITORY} "
            f"in it or any folder above it)"
        )


def find_project(start: Path) -> tuple[Project, ConfigFile | None]:
    """The project ``start`` (an absolute folder) is in, and its settings file if it has
    one (see the module docstring for the order)."""
    store: Path | None = None
    repository = False
    boundary = start
    for folder in (start, *start.parents):
        boundary = folder
        found = _config_in(folder)
        if found is not None:
            project = Project(root=folder, start=start, marker=found.path.name, boundary=folder)
            return project, found
        if store is None and (folder / HOME_FOLDER).is_dir():
            store = folder
        if (folder / _REPOSITORY).exists():
            repository = True
            break
    if store is not None:
        return Project(root=store, start=start, marker=HOME_FOLDER, boundary=boundary), None
    if repository:
        return Project(root=boundary, start=start, marker=_REPOSITORY, boundary=boundary), None
    return Project(root=start, start=start, marker="", boundary=boundary), None


def _config_in(folder: Path) -> ConfigFile | None:
    path = folder / CONFIG_FILE
    if path.is_file():
        text, doc = _read(path)
        return ConfigFile(path, doc, "", text)
    path = folder / "pyproject.toml"
    if path.is_file():
        text, doc = _read(path, needle="legato")
        tool = doc.get("tool")
        if isinstance(tool, dict) and "legato" in tool:
            return ConfigFile(path, tool["legato"], "tool.legato.", text)
    return None


_files: dict[Path, tuple[tuple[int, int], str, dict[str, Any]]] = {}
_files_lock = threading.Lock()
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _read(path: Path, *, needle: str | None = None) -> tuple[str, dict[str, Any]]:
    """Text and parsed contents of a TOML file, kept while its size and mtime are unchanged
    (a process starting many runs reads it once). With ``needle``, a file not containing it
    is not parsed (an unrelated pyproject.toml up the tree is none of our business)."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _files_lock:
        hit = _files.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"is not UTF-8 text ({exc.reason} at byte {exc.start})",
            source=str(path),
            expected="a TOML file encoded as UTF-8",
        ) from None
    doc: dict[str, Any] = {}
    if needle is None or needle in text:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            raise ConfigError(
                f"is not valid TOML: {exc}",
                source=str(path),
                expected='TOML syntax, e.g. key = "value" (see https://toml.io)',
                line=int(found.group(1)) if found else None,
            ) from None
    with _files_lock:
        _files[path] = (stamp, text, doc)
    return text, doc
