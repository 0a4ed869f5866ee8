"""Durability end to end: real files in ``$LEGATO_HOME``, the real SQLite run store, real
worker processes and, where mounting is permitted, a real full disk.

- a damaged artifact (truncated, a byte flipped, deleted) is refused when a task reads it:
  the task fails with an ``IntegrityError`` naming the artifact and the task that produced
  it, and says how to fix it; its function never starts, whether the input is loaded in the
  orchestrator's process (threads) or in a worker process;
- a resume that would read a damaged output runs the task that made it again first;
- small outputs (up to ``INLINE_LIMIT``) live in the run store, larger ones are files and
  only their reference travels through the run store;
- references edited in the run store to point outside the artifact store are refused
  before anything is opened;
- a full disk fails the attempt with a clear, retryable error, leaves no partial file and
  loses nothing; once space is free, a retry or a resume succeeds.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import durability_tasks as dt
import numpy as np
import pytest
from ledger_notes import notes

import legato
from legato.config import load_settings
from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.engine.storage import open_storage
from legato.errors import IntegrityError, StoreError
from legato.model.artifacts import INLINE_LIMIT, ArtifactRef
from legato.model.errors import ErrorKind
from legato.model.events import Event, TaskTransitioned
from legato.model.states import RunState, TaskState
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import Storage
from legato.store.hashing import checksum_bytes
from legato.store.memory import MemoryRunStore

INTEGRITY = f"{IntegrityError.__module__}.{IntegrityError.__qualname__}"
STORE_ERROR = f"{StoreError.__module__}.{StoreError.__qualname__}"
EXPECTED_TOTAL = float(np.arange(dt.BIG).sum() + 2.0 * dt.BIG) + len("small")


# --------------------------------------------------------------------------- helpers


def storage() -> Storage:
    """The storage runs use by default here (``$LEGATO_HOME``, ``LEGATO_*_URL``)."""
    return open_storage(load_settings())


def artifact_root(home: Path) -> Path:
    return home / "artifacts"


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def counts(ledger: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for words in notes(ledger):
        found[words[0]] = found.get(words[0], 0) + 1
    return found


def output_of(result: RunResult, key: str) -> ArtifactRef:
    ref = result.tasks[key].output
    assert ref is not None, f"{key} has no stored output"
    return ref


@pytest.fixture
def fail_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """While this file exists, ``consume`` fails on purpose."""
    flag = tmp_path / "fail-consume"
    flag.touch()
    monkeypatch.setenv(dt.FAIL_FLAG, str(flag))
    return flag


def failed_first_run(executor: str, ledger: Path) -> RunResult:
    """``two_steps`` run once: everything succeeds but ``consume``, which fails on purpose;
    then the flag is removed so a resume would let it succeed."""
    first = legato.run(dt.two_steps, executor=executor)
    assert first.state is RunState.FAILED
    consume = first.tasks["consume"]
    assert consume.state is TaskState.FAILED
    assert consume.attempt == 1
    assert consume.error is not None
    assert consume.error.type_name == "builtins.ValueError"
    assert counts(ledger) == {"produce": 1, "reference": 1, "label": 1, "consume": 1}
    pids = {int(words[1]) for words in notes(ledger, "consume")}
    assert (pids == {os.getpid()}) == (executor != "processes")
    Path(os.environ[dt.FAIL_FLAG]).unlink()
    return first


DAMAGE = dt.DAMAGE


# ------------------------------------------------------------ 1, 5: damaged artifacts


@pytest.mark.usefixtures("fail_flag")
@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_damaged_artifact_is_refused_and_its_consumer_does_not_start(
    legato_home: Path, ledger: Path, executor: str, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``spoil`` fails, then, resumed, damages ``produce``'s file after the resume checked it:
    ``consume``, which reads it next, fails with what is wrong and how to fix it, and never
    starts; resumed again, the run makes ``produce``'s output anew and succeeds."""
    first = legato.run(dt.spoiled, executor=executor)
    assert first.tasks["spoil"].state is TaskState.FAILED
    assert first.tasks["consume"].state is TaskState.UPSTREAM_FAILED
    Path(os.environ[dt.FAIL_FLAG]).unlink()
    produced = output_of(first, "produce")
    assert produced.location is not None
    assert produced.inline is None
    path = artifact_root(legato_home) / produced.location
    assert path.stat().st_size == produced.size
    monkeypatch.setenv(dt.SPOIL, f"{damage}:{path}")

    spoiled = legato.resume(first.run_id)

    run_id = spoiled.run_id
    assert spoiled.state is RunState.FAILED
    assert spoiled.tasks["spoil"].state is TaskState.SUCCEEDED
    assert output_of(spoiled, "produce") == produced
    consume = spoiled.tasks["consume"]
    assert consume.state is TaskState.FAILED
    assert consume.attempt == 2, "an integrity error is not retried: it would fail the same"
    error = consume.error
    assert error is not None
    assert error.type_name == INTEGRITY, error
    assert error.kind is ErrorKind.INPUT
    message = error.message
    assert path.as_uri() in message  # the artifact, where it is
    assert f"{run_id}/produce#1" in message  # the task (and attempt) that produced it
    assert DAMAGE[damage][1] in message  # what is wrong with it
    assert "the task that needs it was not started" in message
    assert "legato.run(pipeline, refresh=['produce'])" in message  # how to fix it
    # The consuming task's function never started: no ledger note, in any process.
    assert counts(ledger) == {"produce": 1, "reference": 1, "spoil": 2}

    # Nothing else stored is lost: the run, its records, the other outputs.
    store = storage()
    records = fold(store.runs.read_events(run_id)).tasks  # the log, the run's truth
    assert records["produce"].state is TaskState.SUCCEEDED
    assert records["produce"].output == produced  # the reference was not rewritten
    recorded = records["consume"].error
    assert recorded is not None
    assert recorded.message == message
    store.artifacts.verify(output_of(spoiled, "reference"))
    with pytest.raises(IntegrityError):
        store.artifacts.verify(produced)

    # Resumed, the run finds produce's output damaged and runs produce again first.
    monkeypatch.delenv(dt.SPOIL)
    resumed = legato.resume(run_id)
    assert resumed.ok
    assert resumed.output == EXPECTED_TOTAL
    assert resumed.tasks["produce"].attempt == 2
    assert resumed.tasks["consume"].attempt == 3
    assert counts(ledger) == {"produce": 2, "reference": 1, "spoil": 2, "consume": 1}
    store.artifacts.verify(produced)


@pytest.mark.usefixtures("fail_flag")
@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_resume_runs_again_the_task_whose_stored_output_is_damaged(
    legato_home: Path, ledger: Path, executor: str, damage: str
) -> None:
    first = failed_first_run(executor, ledger)
    run_id = first.run_id
    produced = output_of(first, "produce")
    assert produced.location is not None
    path = artifact_root(legato_home) / produced.location
    others = {key: output_of(first, key) for key in ("reference", "label")}
    stored_before = files_under(artifact_root(legato_home))
    DAMAGE[damage][0](path)

    resumed = legato.resume(run_id)

    assert resumed.run_id == run_id
    assert resumed.ok
    assert resumed.output == EXPECTED_TOTAL
    produce = resumed.tasks["produce"]
    assert (produce.state, produce.attempt) == (TaskState.SUCCEEDED, 2)
    remade = output_of(resumed, "produce")
    assert remade.producer == f"{run_id}/produce#2"
    assert (remade.location, remade.checksum) == (produced.location, produced.checksum)
    # Only what was damaged ran again, and what failed.
    assert counts(ledger) == {"produce": 2, "reference": 1, "label": 1, "consume": 2}
    store = storage()
    events = store.runs.read_events(run_id)
    (reopened,) = [
        e
        for e in events
        if isinstance(e, TaskTransitioned)
        and e.key == "produce"
        and e.state is TaskState.PENDING
        and e.attempt == 2
    ]
    assert reopened.reason.startswith("resumed: its stored output is damaged")
    assert path.as_uri() in reopened.reason
    assert DAMAGE[damage][1] in reopened.reason
    # Nothing else stored is lost; the damaged file is whole again.
    store.artifacts.verify(produced)
    for ref in others.values():
        store.artifacts.verify(ref)
    assert files_under(artifact_root(legato_home)) == stored_before


@pytest.mark.parametrize("run_store", ["sqlite", "memory"])
def test_the_stored_task_records_of_a_resumed_run_show_its_new_attempts(
    tmp_path: Path, ledger: Path, fail_flag: Path, run_store: str
) -> None:
    """After a resume, the run store's task projection (what ``task_records`` and anything
    listing a run's tasks read) must agree with its event log, as the run's state does."""
    store = (
        storage()
        if run_store == "sqlite"
        else Storage(runs=MemoryRunStore(), artifacts=FsspecArtifactStore(tmp_path / "objects"))
    )
    first = legato.run(dt.two_steps, executor="threads", store=store)
    assert first.tasks["consume"].state is TaskState.FAILED
    fail_flag.unlink()
    resumed = legato.resume(first.run_id, store=store)
    assert resumed.ok

    assert store.runs.get_run(first.run_id).state is RunState.SUCCEEDED
    logged = fold(store.runs.read_events(first.run_id)).tasks["consume"]
    assert (logged.state, logged.attempt) == (TaskState.SUCCEEDED, 2)
    projected = {r.key: r for r in store.runs.task_records(first.run_id)}["consume"]
    assert (projected.state, projected.attempt, projected.error) == (
        TaskState.SUCCEEDED,
        2,
        None,
    ), "the task projection kept the failed attempt the resume replaced"
    assert projected.output == logged.output


# ------------------------------------------------------------------ 2: inline threshold


def test_small_outputs_live_in_the_run_store_and_large_ones_are_files(
    legato_home: Path,
) -> None:
    store = storage()
    probe = store.artifacts.put(np.zeros(1, dtype=np.uint8), producer="probe")
    header = probe.size - 1  # what the npy serializer adds to a uint8 array's bytes
    at_limit = INLINE_LIMIT - header
    result = legato.run(dt.sizes, {"small": at_limit, "large": at_limit + 1})
    assert result.ok

    small, large = output_of(result, "blob"), output_of(result, "blob_2")
    assert (small.size, large.size) == (INLINE_LIMIT, INLINE_LIMIT + 1)
    assert small.inline is not None
    assert small.location is None
    assert large.inline is None
    assert large.location is not None
    assert large.location == f"objects/{large.digest[:2]}/{large.digest}.npy"
    root = artifact_root(legato_home)
    assert files_under(root) == [large.location]  # the small one is no file
    assert (root / large.location).stat().st_size == INLINE_LIMIT + 1
    small_value, large_value = result.output
    assert np.array_equal(small_value, np.zeros(at_limit, dtype=np.uint8))
    assert np.array_equal(large_value, np.zeros(at_limit + 1, dtype=np.uint8))

    # In the run store: the small output's bytes themselves; of the large one a reference.
    with closing(sqlite3.connect(legato_home / "legato.db")) as db:
        rows = dict(
            db.execute("SELECT key, output FROM task_runs WHERE run_id = ?", (result.run_id,))
        )
        assert json.loads(rows["blob"])["checksum"] == small.checksum
        large_row = json.loads(rows["blob_2"])
        assert large_row["location"] == large.location
        inline = dict(db.execute("SELECT checksum, inline FROM artifacts"))
        assert inline[small.checksum] == small.inline  # the bytes, stored once
        assert inline[large.checksum] is None
        inline_sizes = [n for (n,) in db.execute("SELECT length(inline) FROM artifacts")]
        assert max(n or 0 for n in inline_sizes) <= INLINE_LIMIT


def test_large_outputs_never_travel_through_the_run_store(legato_home: Path) -> None:
    huge = 16 * INLINE_LIMIT
    result = legato.run(dt.sizes, {"small": 10, "large": huge})
    assert result.ok
    ref = output_of(result, "blob_2")
    assert ref.location is not None
    assert ref.size > huge
    biggest = INLINE_LIMIT * 4 // 3 + 4096  # an inline output, base64, in a JSON record
    with closing(sqlite3.connect(legato_home / "legato.db")) as db:
        for table, column in [
            ("events", "payload"),
            ("task_runs", "output"),
            ("artifacts", "inline"),
            ("cache_entries", "output"),
        ]:
            (longest,) = db.execute(f"SELECT max(length({column})) FROM {table}").fetchone()
            assert (longest or 0) < biggest, f"{table}.{column} holds {longest} bytes"


# ------------------------------------------------------------ 3: tampered references

_watched: list[str] | None = None
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    watched = _watched
    if watched is not None and event == "open" and args and isinstance(args[0], str | bytes):
        watched.append(os.fsdecode(args[0]))


@pytest.fixture
def opened_paths() -> Iterator[list[str]]:
    """Every path this process opens while the test runs (``open`` audit events: ``open()``,
    ``os.open``, NumPy's loads). Audit hooks cannot be removed: it records only here."""
    global _watched, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    seen: list[str] = []
    _watched = seen
    try:
        yield seen
    finally:
        _watched = None


@dataclasses.dataclass
class Canary:
    """A valid artifact file outside the store: a reference that reached it would verify."""

    path: Path
    data: bytes
    mtime: int
    checksum: str

    def untouched(self) -> bool:
        return self.path.read_bytes() == self.data and self.path.stat().st_mtime_ns == self.mtime


@pytest.fixture
def canary(legato_home: Path) -> Canary:
    path = legato_home / "canary.npy"  # beside the store's root, not in it
    np.save(path, np.full(dt.BIG, -1.0))
    data = path.read_bytes()
    return Canary(path, data, path.stat().st_mtime_ns, checksum_bytes(data))


def tamper_output(db_path: Path, run_id: str, key: str, changes: dict[str, Any]) -> None:
    """Edit the recorded output of ``key``'s success, in the event log (what a resume folds)
    and in the task projection, as someone with write access to the database could."""
    with closing(sqlite3.connect(db_path)) as db, db:
        ((seq, payload),) = db.execute(
            "SELECT seq, payload FROM events WHERE run_id = ? AND key = ? AND state = ?",
            (run_id, key, "succeeded"),
        ).fetchall()
        event = json.loads(payload)
        event["output"].update(changes)
        db.execute(
            "UPDATE events SET payload = ? WHERE run_id = ? AND seq = ?",
            (json.dumps(event), run_id, seq),
        )
        ((output,),) = db.execute(
            "SELECT output FROM task_runs WHERE run_id = ? AND key = ?", (run_id, key)
        ).fetchall()
        db.execute(
            "UPDATE task_runs SET output = ? WHERE run_id = ? AND key = ?",
            (json.dumps({**json.loads(output), **changes}), run_id, key),
        )


def outside_files(home: Path) -> list[str]:
    """Files under ``$LEGATO_HOME`` other than the run store's and the artifact store's."""
    return [
        p
        for p in files_under(home)
        if not p.startswith("artifacts/") and not p.startswith("legato.db")
    ]


TAMPERED: dict[str, Callable[[Canary, ArtifactRef], str]] = {
    "parent folder": lambda c, r: f"../{c.path.name}",
    "through objects/": lambda c, r: f"objects/../../{c.path.name}",
    "system file": lambda c, r: "../" * 40 + "etc/passwd",
    "absolute path": lambda c, r: str(c.path),
    "file URL": lambda c, r: c.path.as_uri(),
    "other bucket": lambda c, r: f"s3://other-bucket/objects/{r.digest[:2]}/{r.digest}.npy",
    "another artifact": lambda c, r: r.location or "",
}


@pytest.mark.usefixtures("fail_flag")
@pytest.mark.parametrize("tampered", TAMPERED)
def test_a_reference_edited_to_point_outside_the_store_is_refused(
    legato_home: Path, ledger: Path, canary: Canary, opened_paths: list[str], tampered: str
) -> None:
    first = failed_first_run("threads", ledger)
    produced = output_of(first, "produce")
    other = output_of(first, "reference")  # "another artifact": its real, valid file
    location = TAMPERED[tampered](canary, other)
    changes: dict[str, Any] = {"location": location}
    if tampered != "another artifact":  # a reference that the file it names would verify
        changes.update(checksum=canary.checksum, size=len(canary.data))
    tamper_output(legato_home / "legato.db", first.run_id, "produce", changes)
    stored_before = {
        p: (artifact_root(legato_home) / p).read_bytes()
        for p in files_under(artifact_root(legato_home))
    }
    outside_before = outside_files(legato_home)

    opened_paths.clear()
    resumed = legato.resume(first.run_id)

    # The edited reference is never followed: the resume finds it unusable and starts produce
    # again (saying why) rather than hand it to consume; its cache entry, not edited, still
    # names the real artifact, which is intact: a hit.
    assert resumed.ok
    assert resumed.output == EXPECTED_TOTAL
    events = storage().runs.read_events(first.run_id)
    (reopened,) = [
        e
        for e in events
        if isinstance(e, TaskTransitioned) and e.key == "produce" and e.attempt == 2
    ][:1]
    assert reopened.reason.startswith("resumed: its stored output is damaged")
    assert repr(location) in reopened.reason
    if tampered != "another artifact":
        assert "a location legato never assigns" in reopened.reason
    assert resumed.tasks["produce"].cache_hit == first.run_id
    assert resumed.tasks["produce"].output == produced
    assert counts(ledger) == {"produce": 1, "reference": 1, "label": 1, "consume": 2}
    # Nothing outside the store was opened, written or created, and nothing in it changed.
    reached = [p for p in opened_paths if canary.path.name in p or "passwd" in p]
    assert reached == []
    assert canary.untouched()
    assert outside_files(legato_home) == outside_before
    assert {
        p: (artifact_root(legato_home) / p).read_bytes()
        for p in files_under(artifact_root(legato_home))
    } == stored_before
    storage().artifacts.verify(produced)  # the real artifact is still there, sound
    # The audit hook does see opens: reading the canary is recorded.
    canary.path.read_bytes()
    assert any(canary.path.name in p for p in opened_paths)


@pytest.mark.usefixtures("fail_flag")
def test_a_cache_entry_edited_to_point_outside_the_store_is_refused(
    legato_home: Path, ledger: Path, canary: Canary, opened_paths: list[str]
) -> None:
    first = failed_first_run("threads", ledger)
    with closing(sqlite3.connect(legato_home / "legato.db")) as db, db:
        ((entry_id, output),) = db.execute(
            "SELECT id, output FROM cache_entries WHERE task_key = ?", ("produce",)
        ).fetchall()
        forged = {
            **json.loads(output),
            "location": str(canary.path),
            "checksum": canary.checksum,
            "size": len(canary.data),
        }
        db.execute(
            "UPDATE cache_entries SET output = ? WHERE id = ?", (json.dumps(forged), entry_id)
        )
    opened_paths.clear()
    second = legato.run(dt.two_steps)  # a new run: produce's entry is checked, refused

    assert second.run_id != first.run_id
    produce = second.tasks["produce"]
    assert produce.cache_hit is None  # never used: a miss that says why, and run again
    assert produce.reason.startswith(f"cache: miss, the result stored by run {first.run_id}")
    assert "damaged" in produce.reason
    assert second.tasks["consume"].state is TaskState.SUCCEEDED
    assert counts(ledger)["produce"] == 2
    assert not [p for p in opened_paths if canary.path.name in p]
    assert canary.untouched()


def test_names_given_by_users_never_become_storage_locations(
    legato_home: Path, ledger: Path
) -> None:
    # A run id with path tricks is refused before any run exists...
    with pytest.raises(legato.ParameterError, match="run id"):
        legato.run(dt.two_steps, run_id="../../escaped-run", executor="threads")
    assert outside_files(legato_home) == []
    # ...and locations of outputs are legato's own, whatever the run id.
    result = legato.run(dt.two_steps, run_id="my-run_1", executor="threads")
    assert result.ok
    root = artifact_root(legato_home)
    locations = sorted(
        ref.location for ref in (output_of(result, k) for k in result.tasks) if ref.location
    )
    assert files_under(root) == locations
    assert all(loc.startswith("objects/") and ".." not in loc for loc in locations)
    assert outside_files(legato_home) == []


# ------------------------------------------------------------------------ 4: disk full

TINY = 4 * 1024 * 1024
GROW = {
    # 480 KB: buffered, the write fails when the file is flushed before its rename.
    "flushing": 60_000,
    # 1.6 MB: written straight through, the write fails while the value is serialised.
    "serialising": 200_000,
}


@pytest.fixture
def tiny_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 4 MiB tmpfs holding the artifact store (``LEGATO_ARTIFACTS_URL``); the run store
    stays in ``$LEGATO_HOME``. Needs root and permission to mount; skipped otherwise."""
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs Linux and mount(8)")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TINY}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'not permitted'}")
    monkeypatch.setenv("LEGATO_ARTIFACTS_URL", str(mount_point / "store"))
    monkeypatch.setenv(dt.FILLER, str(mount_point / "filler"))
    try:
        yield mount_point
    finally:
        gc.collect()  # drop memory maps of files on it
        if subprocess.run(["umount", str(mount_point)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_space(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@dataclasses.dataclass
class FullDiskSeen:
    """What the store looked like when the first attempt of ``grow`` had failed."""

    error: Any
    files: list[str]
    free: int
    kept_verifies: bool


class FreeSpaceAfterFirstFailure:
    """A listener: when ``grow``'s first attempt has failed (and is waiting for its retry),
    note the state of the store, then delete the filler so the retry has room."""

    def __init__(self, disk: Path) -> None:
        self.disk = disk
        self.kept: ArtifactRef | None = None
        self.seen: list[FullDiskSeen] = []

    def on_events(self, events: Sequence[Event]) -> None:
        for event in events:
            if not isinstance(event, TaskTransitioned):
                continue
            if event.key == "keep" and event.state is TaskState.SUCCEEDED:
                self.kept = event.output
            if event.key == "grow" and event.state is TaskState.RETRY_WAIT:
                self.seen.append(
                    FullDiskSeen(
                        error=event.error,
                        files=files_under(self.disk / "store"),
                        free=free_space(self.disk),
                        kept_verifies=self._kept_verifies(),
                    )
                )
                (self.disk / "filler").unlink()

    def _kept_verifies(self) -> bool:
        try:
            assert self.kept is not None
            storage().artifacts.verify(self.kept)
        except Exception:
            return False
        return True


def check_no_space_error(error: Any, run_id: str, attempt: int) -> None:
    assert error is not None
    assert error.type_name == STORE_ERROR, error
    assert error.kind is ErrorKind.STORAGE  # retryable, whatever the policy's retry_on
    assert error.message.startswith("no space left on the device"), error.message
    assert f"{run_id}/grow#{attempt}" in error.message
    assert "Free some space" in error.message
    assert "nothing was stored" in error.message


@pytest.mark.parametrize("fails_while", GROW)
@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_full_disk_fails_the_attempt_cleanly_and_the_retry_succeeds(
    tiny_disk: Path, ledger: Path, executor: str, fails_while: str
) -> None:
    n = GROW[fails_while]
    listener = FreeSpaceAfterFirstFailure(tiny_disk)
    result = legato.run(dt.full_disk_retried, {"n": n}, executor=executor, listeners=[listener])

    assert result.ok, result.tasks["grow"]
    assert result.tasks["grow"].attempt == 2
    assert counts(ledger) == {"keep": 1, "fill_disk": 1, "grow": 2}
    (seen,) = listener.seen
    check_no_space_error(seen.error, result.run_id, 1)
    kept = output_of(result, "keep")
    assert kept.location is not None
    assert seen.files == [kept.location]  # no partial object, nothing left in tmp/
    assert seen.free == dt.LEFT_FREE  # the failed write gave its space back
    assert seen.kept_verifies
    # The failure is in the run's durable record.
    recorded = [
        e
        for e in storage().runs.read_events(result.run_id)
        if isinstance(e, TaskTransitioned) and e.key == "grow" and e.state is TaskState.RETRY_WAIT
    ]
    assert [e.error for e in recorded] == [seen.error]

    grown = output_of(result, "grow")
    assert files_under(tiny_disk / "store") == sorted([kept.location, grown.location or ""])
    store = storage()
    store.artifacts.verify(kept)
    expected = np.linspace(0.0, 1.0, n) + dt.BIG
    assert np.array_equal(store.artifacts.get(grown), expected)
    assert np.array_equal(result.output, expected)


@pytest.mark.parametrize("fails_while", GROW)
@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_run_failed_by_a_full_disk_resumes_once_space_is_free(
    tiny_disk: Path, ledger: Path, executor: str, fails_while: str
) -> None:
    n = GROW[fails_while]
    first = legato.run(dt.full_disk, {"n": n}, executor=executor)

    assert first.state is RunState.FAILED
    grow = first.tasks["grow"]
    assert grow.state is TaskState.FAILED
    assert grow.attempt == 1
    check_no_space_error(grow.error, first.run_id, 1)
    store = storage()
    records = {r.key: r for r in store.runs.task_records(first.run_id)}
    assert records["grow"].error == grow.error
    kept = output_of(first, "keep")
    assert kept.location is not None
    assert files_under(tiny_disk / "store") == [kept.location]
    assert free_space(tiny_disk) == dt.LEFT_FREE
    store.artifacts.verify(kept)

    (tiny_disk / "filler").unlink()
    resumed = legato.resume(first.run_id)

    assert resumed.ok, resumed.tasks["grow"]
    assert resumed.tasks["grow"].attempt == 2
    assert counts(ledger) == {"keep": 1, "fill_disk": 1, "grow": 2}  # the rest not redone
    expected = np.linspace(0.0, 1.0, n) + dt.BIG
    assert np.array_equal(resumed.output, expected)
    store.artifacts.verify(kept)
    store.artifacts.verify(output_of(resumed, "grow"))
