"""A damaged or missing stored output is never used again: a cache hit on it is a miss that
says why, and the task runs again from its intact inputs; a resume runs again a succeeded
task whose output it would read but is damaged, as a new attempt that says why (and, in
turn, what that task reads and finds damaged). A task whose input is damaged after it was
checked is refused before it starts: ``test_durability``.

The artifacts are altered or deleted for real, on disk, between runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import legato
from legato.engine.reducer import fold
from legato.errors import ParameterError
from legato.model.artifacts import ArtifactRef
from legato.model.events import TaskTransitioned
from legato.model.states import RunState, TaskState
from legato.runtime.data import items_of_manifest
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import Storage
from legato.store.open import open_run_store

CALLS: list[str] = []
FAIL = {"later": False}


@legato.task
def big() -> bytes:
    CALLS.append("big")
    return bytes(range(256)) * 1000  # 256 KB: stored as a file, not inline


@legato.task
def size(data: bytes) -> int:
    CALLS.append("size")
    if FAIL["later"]:
        raise RuntimeError("fails in the first run")
    return len(data)


@legato.pipeline
def measured() -> int:
    return size(big())


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    CALLS.clear()
    FAIL["later"] = False
    runs = open_run_store(str(tmp_path / "legato.db"))
    try:
        yield Storage(runs=runs, artifacts=FsspecArtifactStore(tmp_path / "artifacts"))
    finally:
        runs.close()


def _file_of(storage: Storage, result: legato.RunResult, key: str = "big") -> Path:
    ref = result.tasks[key].output
    assert ref is not None
    return _path(storage, ref)


def _path(storage: Storage, ref: ArtifactRef) -> Path:
    assert ref.location is not None, "the test needs an artifact stored as a file"
    root = storage.artifacts.local_root  # type: ignore[attr-defined]
    return Path(root) / ref.location


def _damage(path: Path, how: str = "altered") -> None:
    if how == "altered":
        data = bytearray(path.read_bytes())
        data[1000] ^= 0xFF
        os.chmod(path, 0o644)
        path.write_bytes(bytes(data))
    else:
        path.unlink()


@pytest.mark.parametrize("damage", ["altered", "deleted"])
def test_a_cache_hit_on_a_damaged_artifact_is_a_miss(storage: Storage, damage: str) -> None:
    first = legato.run(measured, store=storage, executor="threads")
    assert first.ok
    _damage(_file_of(storage, first), damage)
    CALLS.clear()

    again = legato.run(measured, store=storage, executor="threads")

    assert again.ok, again.tasks["size"].error
    assert again.output == 256_000
    assert CALLS == ["big"]  # recomputed; size reads the same content: a hit
    record = again.tasks["big"]
    assert record.cache_hit is None
    assert record.reason.startswith("cache: miss, the result stored by run")
    assert "damaged" in record.reason
    assert again.tasks["size"].cache_hit == first.run_id
    ref = again.tasks["big"].output
    assert ref is not None
    assert storage.artifacts.get(ref) == bytes(range(256)) * 1000  # stored intact again


# ------------------------------------------------------------------------------ resume


@pytest.mark.parametrize("damage", ["altered", "deleted"])
@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_resume_runs_again_a_succeeded_task_whose_output_is_damaged(
    storage: Storage, damage: str, executor: str
) -> None:
    FAIL["later"] = True
    first = legato.run(measured, store=storage, executor="threads")
    assert first.tasks["size"].state is TaskState.FAILED
    _damage(_file_of(storage, first), damage)
    FAIL["later"] = False
    CALLS.clear()

    resumed = legato.resume(first.run_id, pipeline=measured, store=storage, executor=executor)

    assert resumed.ok, resumed.tasks["size"].error
    assert resumed.output == 256_000
    if executor == "threads":
        assert CALLS == ["big", "size"]
    big = resumed.tasks["big"]
    assert (big.state, big.attempt) == (TaskState.SUCCEEDED, 2)
    assert "damaged" in big.reason  # the cache says why its stored result is not reused
    ref = big.output
    assert ref is not None
    assert storage.artifacts.get(ref) == bytes(range(256)) * 1000  # stored intact again
    # The log keeps both attempts and why the second began; the store's projection agrees.
    events = storage.runs.read_events(first.run_id)
    (reopened,) = [
        e
        for e in events
        if isinstance(e, TaskTransitioned) and e.key == "big" and e.state is TaskState.PENDING
    ]
    assert reopened.attempt == 2
    assert reopened.reason.startswith("resumed: its stored output is damaged (artifact ")
    assert reopened.reason.endswith("; running it again")
    succeeded = [
        e.attempt
        for e in events
        if isinstance(e, TaskTransitioned) and e.key == "big" and e.state is TaskState.SUCCEEDED
    ]
    assert succeeded == [1, 2]
    assert fold(events).tasks["big"] == resumed.tasks["big"]
    projected = {r.key: r for r in storage.runs.task_records(first.run_id)}["big"]
    assert (projected.state, projected.attempt, projected.output) == (
        TaskState.SUCCEEDED,
        2,
        ref,
    )
    # Resuming the finished run again runs nothing.
    CALLS.clear()
    assert legato.resume(first.run_id, pipeline=measured, store=storage).output == 256_000
    assert CALLS == []


@legato.task
def first_half(data: bytes) -> bytes:
    CALLS.append("first_half")
    return data[: len(data) // 2]


@legato.task
def length(data: bytes) -> int:
    CALLS.append("length")
    if FAIL["later"]:
        raise RuntimeError("fails in the first run")
    return len(data)


@legato.pipeline
def chain() -> tuple[int, bytes]:
    data = big()
    return length(first_half(data)), data


@pytest.mark.parametrize("damaged", [("first_half",), ("first_half", "big"), ("big",)])
def test_a_resume_checks_what_a_recomputed_task_reads_in_turn(
    storage: Storage, damaged: tuple[str, ...]
) -> None:
    """``big`` is read by ``first_half`` and returned by the pipeline; ``first_half`` by
    ``length``, which failed: whatever of them is damaged runs again, and only that."""
    FAIL["later"] = True
    first = legato.run(chain, store=storage, executor="threads")
    assert first.tasks["length"].state is TaskState.FAILED
    for key in damaged:
        _damage(_file_of(storage, first, key))
    FAIL["later"] = False
    CALLS.clear()

    resumed = legato.resume(first.run_id, pipeline=chain, store=storage)

    assert resumed.ok
    assert resumed.output == (128_000, bytes(range(256)) * 1000)
    order = ["big", "first_half", "length"]
    assert [k for k in order if k in damaged or k == "length"] == CALLS
    for key in ("big", "first_half"):
        task = resumed.tasks[key]
        assert task.attempt == (2 if key in damaged else 1)
        assert ("damaged" in task.reason) == (key in damaged)


@legato.task
def chunks() -> list[bytes]:
    CALLS.append("chunks")
    return [bytes([i]) * 100_000 for i in range(3)]


@legato.task
def doubled(chunk: bytes) -> bytes:
    CALLS.append(f"doubled {chunk[0]}")
    return chunk * 2


@legato.task
def total(parts: list[bytes]) -> int:
    CALLS.append("total")
    if FAIL["later"]:
        raise RuntimeError("fails in the first run")
    return sum(len(p) for p in parts)


@legato.pipeline
def mapped() -> int:
    return total(doubled.map(chunks()))


def _item_output(storage: Storage, run_id: str, key: str) -> ArtifactRef:
    ref = fold(storage.runs.read_events(run_id)).tasks[key].output
    assert ref is not None
    return ref


def test_a_resume_runs_again_only_the_damaged_items_of_a_map(storage: Storage) -> None:
    FAIL["later"] = True
    first = legato.run(mapped, store=storage, executor="threads")
    assert first.tasks["total"].state is TaskState.FAILED
    _damage(_path(storage, _item_output(storage, first.run_id, "doubled[1]")))
    FAIL["later"] = False
    CALLS.clear()

    resumed = legato.resume(first.run_id, pipeline=mapped, store=storage)

    assert resumed.ok
    assert resumed.output == 600_000
    assert CALLS == ["doubled 1", "total"]
    events = storage.runs.read_events(first.run_id)
    record = fold(events)
    assert record.tasks["doubled"].attempt == 2
    reopened: dict[str, str] = {}  # the event that began each new attempt
    for e in events:
        if isinstance(e, TaskTransitioned) and e.attempt == 2 and e.key.startswith("doubled"):
            reopened.setdefault(e.key, e.reason)
    assert set(reopened) == {"doubled", "doubled[1]"}
    assert "1 of its 3 items' stored outputs are damaged" in reopened["doubled"]
    assert [record.tasks[f"doubled[{i}]"].attempt for i in range(3)] == [1, 2, 1]


def test_a_map_whose_inputs_are_damaged_too_is_not_repaired_but_said_so(
    storage: Storage,
) -> None:
    """Its intact items were made from inputs that would be recomputed: the resume refuses,
    before it takes the run over, and says what to do; nothing stored changes."""
    FAIL["later"] = True
    first = legato.run(mapped, store=storage, executor="threads")
    events = storage.runs.read_events(first.run_id)
    record = fold(events)
    chunk = record.tasks["chunks"].output
    assert chunk is not None
    _damage(_path(storage, items_of_manifest(storage.artifacts, chunk)[2]))
    _damage(_path(storage, _item_output(storage, first.run_id, "doubled[0]")))
    FAIL["later"] = False
    CALLS.clear()

    with pytest.raises(ParameterError) as raised:
        legato.resume(first.run_id, pipeline=mapped, store=storage)

    message = str(raised.value)
    assert "the map doubled must run again" in message
    assert "chunks: " in message
    assert "start a new run" in message
    assert CALLS == []
    assert storage.runs.read_events(first.run_id) == events
    assert storage.runs.get_run(first.run_id).state is RunState.FAILED
