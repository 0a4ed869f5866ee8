"""Temporary files of artifact writes, named after the process writing them, so that those of
interrupted writes can be told apart from those of live ones and removed.

A local store writes a large artifact into ``<root>/tmp/`` first and renames it into
``objects/`` once it is complete and fsynced. A writer killed in between (``kill -9``, an
out-of-memory kill, a power cut) leaves its temporary file behind, and nothing else will ever
rename or delete it. Deleting one is safe only when its writer can no longer rename it, so the
name says who the writer is::

    tmp/<uuid>.<pid>.<start>.<space>.tmp

- ``pid`` and ``start``: the writing process and when it started (clock ticks since boot, from
  ``/proc/<pid>/stat``; 0 where ``/proc`` does not tell). The start time tells the writer
  apart from a later process that was given the same pid.
- ``space``: where that pid means something. On Linux the boot id and the pid namespace
  (``<boot id>-<namespace inode>``): another machine, another boot or another container's pid
  namespace is another space, whatever the host names say (two machines may share one, and
  containers sharing the host's name do not share its pids). Elsewhere, the host name.

A file is an **orphan** when its writer is known gone: its space is this process's, and its
pid is no process (or a zombie), or a process that started at another time. A file of
another space cannot be decided from here, nor can an unnamed one (written by a legato that
did not name its files): those count as orphans only once nothing has written to them for
:data:`FOREIGN_AFTER` (a day; a live writer writes as it goes, and commits seconds after its
last write). Everything else belongs to a live writer and is left alone, whatever its age: a
write of a hundred gigabytes may take hours.

Sweeping costs one directory listing: a writable local store sweeps when it is opened, at most
once per process and root (:func:`sweep_once`), and ``legato doctor --fix`` sweeps on demand.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from legato.liveness import alive, started_ticks

__all__ = [
    "FOREIGN_AFTER",
    "SUFFIX",
    "Swept",
    "TempFile",
    "Writer",
    "current_writer",
    "is_orphan",
    "scan",
    "sweep",
    "sweep_once",
    "temp_name",
    "writer_of",
]

FOREIGN_AFTER = 24 * 3600.0
"""Seconds without a write after which a temporary file whose writer cannot be checked from
here (another machine, boot or pid namespace; or an unnamed file) counts as an orphan."""

SUFFIX = ".tmp"
"""Every temporary file of an artifact write ends so; nothing else in ``tmp/`` does."""
_NAME = re.compile(r"(?P<uuid>[0-9a-f]{32})\.(?P<pid>\d{1,10})\.(?P<start>\d{1,20})\.(?P<space>.+)")
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Writer:
    """The process that named a temporary file."""

    pid: int
    start: int
    """When it started, in clock ticks since boot (0: unknown)."""
    space: str
    """Where its pid is meaningful: ``<boot id>-<pid namespace>`` on Linux, else the host."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TempFile:
    """A temporary file found in a store's ``tmp/`` folder, with the verdict on it."""

    path: Path
    size: int
    writer: Writer | None
    """Who wrote it; None for a name that does not say."""
    orphan: bool
    """Whether its writer is known gone (or it is foreign and older than FOREIGN_AFTER)."""


_me: Writer | None = None
_me_lock = threading.Lock()


def current_writer() -> Writer:
    """This process, as temporary names record it (recomputed in a forked child, whose pid
    and start time are its own)."""
    global _me
    pid = os.getpid()
    me = _me
    if me is None or me.pid != pid:
        with _me_lock:
            me = _me = Writer(pid=pid, start=started_ticks(pid) or 0, space=_space())
    return me


def temp_name() -> str:
    """A new temporary file name that names this process as its writer."""
    me = current_writer()
    return f"{uuid.uuid4().hex}.{me.pid}.{me.start}.{me.space}{SUFFIX}"


def writer_of(name: str) -> Writer | None:
    """The writer a temporary file name records; None if it records none."""
    if not name.endswith(SUFFIX):
        return None
    match = _NAME.fullmatch(name.removesuffix(SUFFIX))
    if match is None:
        return None
    return Writer(pid=int(match["pid"]), start=int(match["start"]), space=match["space"])


def is_orphan(writer: Writer | None, idle: float) -> bool:
    """Whether a temporary file of ``writer``, last written ``idle`` seconds ago, belongs
    to no live writer (see the module docstring)."""
    me = current_writer()
    if writer is None or writer.space != me.space:
        return idle > FOREIGN_AFTER
    if writer.pid == me.pid:
        return writer.start != me.start  # a process before this one had this pid
    if not alive(writer.pid):
        return True
    start = started_ticks(writer.pid)
    if writer.start and start is not None:
        return start != writer.start  # the pid was given to a later process
    return idle > FOREIGN_AFTER  # alive, but whether it is the writer cannot be told


def scan(folder: Path, now: float | None = None) -> list[TempFile]:
    """The temporary files in ``folder`` (a store's ``tmp/``), each with its verdict; none
    when the folder does not exist. Files of other kinds are not listed."""
    now = time.time() if now is None else now
    found: list[TempFile] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if not entry.name.endswith(SUFFIX):
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # renamed into place (or removed) meanwhile
        writer = writer_of(entry.name)
        found.append(
            TempFile(
                path=Path(entry.path),
                size=stat.st_size,
                writer=writer,
                orphan=is_orphan(writer, now - stat.st_mtime),
            )
        )
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Swept:
    """What a sweep removed, and what it could not."""

    removed: tuple[TempFile, ...] = ()
    failed: tuple[tuple[TempFile, OSError], ...] = ()

    @property
    def size(self) -> int:
        """Bytes freed."""
        return sum(f.size for f in self.removed)


def sweep(folder: Path) -> Swept:
    """Remove the orphans among the temporary files of ``folder``."""
    removed: list[TempFile] = []
    failed: list[tuple[TempFile, OSError]] = []
    for temp in scan(folder):
        if not temp.orphan:
            continue
        try:
            temp.path.unlink()
        except FileNotFoundError:
            continue  # another process swept it first
        except OSError as e:  # a read-only store, a folder of another user
            failed.append((temp, e))
            continue
        removed.append(temp)
    return Swept(removed=tuple(removed), failed=tuple(failed))


_swept: set[Path] = set()
_swept_lock = threading.Lock()


def sweep_once(folder: Path) -> None:
    """:func:`sweep` ``folder`` unless this process did already; never raises (a store that
    cannot be swept still works: its orphans only take space)."""
    with _swept_lock:
        if folder in _swept:
            return
        _swept.add(folder)
    with contextlib.suppress(OSError):
        sweep(folder)


def _space() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip().replace("-", "")[:16]
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return _HOST_UNSAFE.sub("-", socket.gethostname()) or "unknown"
    return f"{boot}-{''.join(c for c in namespace if c.isdigit())}"
