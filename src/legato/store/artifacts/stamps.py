"""A committed local artifact's file identity, so that a reader on the machine that wrote it
can take the checksum its writer computed while writing instead of reading every byte again.

The writer hashes the bytes as it writes them (:mod:`~legato.store.artifacts.spool`), fsyncs
the file and renames it into ``objects/``. Right after the rename it notes the file's
*stamp*: the boot it was written in, its device and inode, its size, its modification time
and its change time. A reader of the same boot that finds the file with that very stamp
knows it is the file the checksum was computed over, unchanged since, and maps it without
hashing it again; any other reader (another machine or boot, a remote store, a reference
without a stamp) hashes it in full, as before.

Why a changed file cannot keep its stamp, on a filesystem that keeps file times (every local
Linux filesystem does):

- writing to it, truncating it or extending it (with ``write``, ``truncate``, through a
  shared memory map, ``fallocate``) sets its modification time to the current tick of the
  filesystem's clock. A stamp is noted only when the file's modification time is older than
  its change time (which the rename set), so that tick is at least the rename's and never
  the one noted: the modification time no longer matches;
- setting its times back by hand (``touch -d``, ``os.utime``) sets its change time to now;
- replacing it (a rename over it, a copy) gives another inode; deleting it, no file.

What a stamp does not see, and why that is accepted:

- bytes that change below the filesystem (the disk's media, a write to the raw block
  device): the filesystem does not see them either, and a read soon after the write is
  served from the page cache the writer hashed anyway. A stamp counts only within the boot
  it was noted in, so after a restart (a power cut included) every file is hashed in full;
  so is every output that a new run reuses (a cache hit, a resumed run's inputs), which the
  orchestrator verifies before anything reads it;
- a change to the temporary file in ``tmp/`` made in the same tick of the filesystem's clock
  as the writer's last write, before the rename (another process would have to find the
  file, whose name is random, and write to it within those milliseconds);
- a filesystem that does not keep modification and change times (some FUSE and network
  filesystems with attribute caching): there, a change made through another mount or
  machine may not show in what ``stat`` answers.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

__all__ = ["STAMP", "current_boot", "stamp_file", "unchanged"]

STAMP = "legato.stamp"
"""Key in ``ArtifactRef.meta`` of the stamp of a local artifact's file (see the module)."""

_VERSION = "1"


@cache
def current_boot() -> str | None:
    """This machine's boot id (Linux); None where there is none to read, and then no file
    is stamped or trusted."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        return None
    return boot.replace("-", "") or None


def _describe(st: os.stat_result, boot: str) -> str:
    fields = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return ":".join((_VERSION, boot, *map(str, fields)))


def stamp_file(path: Path) -> str | None:
    """The stamp of ``path``, just renamed into place by its writer; None when it cannot
    tell a later change (no boot id, or modified in the tick of its rename)."""
    boot = current_boot()
    if boot is None:
        return None
    st = os.stat(path)
    if st.st_mtime_ns >= st.st_ctime_ns:
        return None  # written in the rename's tick: a change in that tick would not show
    return _describe(st, boot)


def unchanged(path: Path, stamp: str) -> bool:
    """Whether ``path`` is still the file ``stamp`` was noted of, in this boot."""
    boot = current_boot()
    if boot is None or not stamp.startswith(f"{_VERSION}:{boot}:"):
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return _describe(st, boot) == stamp
