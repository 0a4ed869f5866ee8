"""Temporary files of artifact writes: a writer killed mid-write leaves one behind, the next
open of the store removes it, and the files of live writers are left alone.

The writers are real processes: one killed with SIGKILL in the middle of writing an output
(the ``artifact_partial`` crash point), one blocked in the middle of a ``put`` while the store
is opened again and swept beside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from legato.errors import StoreError
from legato.store.artifacts import FsspecArtifactStore
from legato.store.artifacts.temps import (
    FOREIGN_AFTER,
    Writer,
    current_writer,
    scan,
    sweep,
    sweep_once,
    temp_name,
    writer_of,
)

KILLED_WRITER = """
import sys
from legato.store.artifacts import FsspecArtifactStore
store = FsspecArtifactStore(sys.argv[1])
store.put("x" * (4 << 20), producer="run-1/killed#1")  # one 4 MiB write, then SIGKILL
raise SystemExit("the crash point was not reached")
"""

LIVE_WRITER = """
import sys
from legato.store.artifacts import FsspecArtifactStore

class Pause:
    # Pickled after the bytes before it reached the temporary file: the put is mid-write.
    def __reduce__(self):
        print("writing", flush=True)
        sys.stdin.readline()
        return (int, (7,))

store = FsspecArtifactStore(sys.argv[1])
ref = store.put([b"\\0" * (2 << 20), Pause(), b"\\1" * (1 << 20)], producer="run-1/live#1")
store.verify(ref)
print(ref.location, flush=True)
"""

OPEN = """
import sys
from legato.store.artifacts import FsspecArtifactStore
FsspecArtifactStore(sys.argv[1])
"""


def _temps(root: Path) -> list[Path]:
    return sorted((root / "tmp").glob("*.tmp"))


def _python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[str]]:
    """A live process of this host (not this one), killed afterwards."""
    process = subprocess.Popen(_python("import time; time.sleep(120)"), text=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _start_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[19])


def _name_for(writer: Writer) -> str:
    return f"{uuid.uuid4().hex}.{writer.pid}.{writer.start}.{writer.space}.tmp"


def _write(folder: Path, name: str, size: int = 10, age: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * size)
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


linux_only = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="telling a reused pid apart needs /proc"
)


@linux_only
def test_a_writer_killed_mid_write_leaves_an_orphan_the_next_open_removes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    live = subprocess.Popen(
        _python(LIVE_WRITER, str(root)), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert live.stdout is not None
        assert live.stdin is not None
        assert live.stdout.readline().strip() == "writing"
        (live_temp,) = _temps(root)

        env = {**os.environ, "LEGATO_CRASH_AT": "artifact_partial"}
        killed = subprocess.Popen(
            _python(KILLED_WRITER, str(root)), env=env, stderr=subprocess.PIPE, text=True
        )
        _, err = killed.communicate(timeout=60)
        assert killed.returncode == -signal.SIGKILL, err
        (orphan,) = set(_temps(root)) - {live_temp}
        assert orphan.stat().st_size >= 4 << 20  # what it wrote before it was killed
        writer = writer_of(orphan.name)
        assert writer is not None
        assert (writer.pid, writer.space) == (killed.pid, current_writer().space)

        subprocess.run(_python(OPEN, str(root)), check=True, timeout=60)  # the next open
        assert _temps(root) == [live_temp]  # the live writer's file is left alone

        live.stdin.write("go\n")
        live.stdin.close()
        location = live.stdout.read().strip()
        assert live.wait(timeout=60) == 0
    finally:
        live.kill()
        live.wait()
    assert (root / location).stat().st_size > 3 << 20  # renamed into place, whole
    assert _temps(root) == []


@linux_only
def test_the_files_of_live_writers_are_kept_those_of_gone_ones_removed(
    tmp_path: Path, sleeper: subprocess.Popen[str]
) -> None:
    folder = tmp_path / "tmp"
    me = current_writer()
    mine = _write(folder, temp_name())
    child = Writer(pid=sleeper.pid, start=_start_of(sleeper.pid), space=me.space)
    of_child = _write(folder, _name_for(child))
    reused_pid = _write(folder, _name_for(Writer(pid=me.pid, start=me.start + 1, space=me.space)))
    reused_child_pid = _write(
        folder, _name_for(Writer(pid=sleeper.pid, start=child.start - 1, space=me.space))
    )
    other_space = Writer(pid=me.pid, start=me.start, space="0123456789abcdef-4026531836")
    foreign_fresh = _write(folder, _name_for(other_space), age=FOREIGN_AFTER - 600)
    foreign_stale = _write(folder, _name_for(other_space), age=FOREIGN_AFTER + 600)
    unnamed_fresh = _write(folder, f"{uuid.uuid4().hex}.tmp")
    unnamed_stale = _write(folder, f"{uuid.uuid4().hex}.tmp", age=FOREIGN_AFTER + 600)
    probe = _write(folder, "doctor-0123.probe", age=FOREIGN_AFTER + 600)

    verdicts = {t.path: t.orphan for t in scan(folder)}
    assert probe not in verdicts  # not a temporary file of a write
    assert verdicts == {
        mine: False,
        of_child: False,
        reused_pid: True,
        reused_child_pid: True,
        foreign_fresh: False,
        foreign_stale: True,
        unnamed_fresh: False,
        unnamed_stale: True,
    }
    swept = sweep(folder)
    assert {t.path for t in swept.removed} == {p for p, orphan in verdicts.items() if orphan}
    assert swept.size == 40
    assert sorted(folder.iterdir()) == sorted([mine, of_child, foreign_fresh, unnamed_fresh, probe])

    sleeper.kill()
    sleeper.wait()
    assert [t.path for t in sweep(folder).removed] == [of_child]


def test_a_name_records_its_writer(tmp_path: Path) -> None:
    name = temp_name()
    assert name.endswith(".tmp")
    assert writer_of(name) == current_writer()
    assert current_writer().pid == os.getpid()
    assert writer_of(f"{uuid.uuid4().hex}.tmp") is None
    assert writer_of("doctor-0123.probe") is None


def test_a_local_store_names_its_temporary_files_after_the_writer(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path / "store", inline_limit=0)
    seen: list[Writer | None] = []

    class Looking:
        def __reduce__(self) -> tuple[object, ...]:
            seen.extend(t.writer for t in store.temp_files())
            return (int, (1,))

    store.put([b"\0" * (1 << 20), Looking()], producer="run-1/a#1")
    assert seen == [current_writer()]
    assert store.temp_files() == []


def test_opening_sweeps_once_per_process_and_folder(tmp_path: Path) -> None:
    root = tmp_path / "store"
    stale = _write(root / "tmp", f"{uuid.uuid4().hex}.tmp", age=FOREIGN_AFTER + 600)
    FsspecArtifactStore(root, read_only=True)
    assert stale.exists()  # a read-only store removes nothing
    FsspecArtifactStore(root)
    assert not stale.exists()
    again = _write(root / "tmp", f"{uuid.uuid4().hex}.tmp", age=FOREIGN_AFTER + 600)
    FsspecArtifactStore(root)
    assert again.exists()  # swept once in this process already
    sweep_once(root / "tmp")
    assert again.exists()
    assert [t.path for t in FsspecArtifactStore(root).sweep().removed] == [again]


def test_a_read_only_store_refuses_to_write(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path / "store", read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        store.put(b"\0" * (1 << 20), producer="run-1/a#1")
    assert not (tmp_path / "store").exists()


def test_remote_stores_are_not_swept() -> None:
    store = FsspecArtifactStore(f"memory://temps-{uuid.uuid4().hex}")
    assert store.temp_files() == []
    assert store.sweep().removed == ()
