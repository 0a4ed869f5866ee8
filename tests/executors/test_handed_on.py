"""A worker process hands the outputs it stored last to the next call that reads them on
that worker, without loading them again (``runtime.data.HandedOnData``), and each to one
call only: every other reader, and a retry, loads its own copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import handed_on_tasks as tasks
import pytest

import legato
from legato import ProcessesExecutor
from legato.model.artifacts import ArtifactRef
from legato.model.calls import TaskCall
from legato.model.specs import Resources
from legato.model.values import Given, Stored
from legato.runtime.data import HANDED_ON_SERIALIZERS, HandedOnData, handed_on_checksums
from legato.store.artifacts import FsspecArtifactStore

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "loads.txt"
    monkeypatch.setenv("LEGATO_TEST_LOADS", str(path))
    return path


def _loaded(path: Path) -> int:
    return len(path.read_text().split()) if path.exists() else 0


def test_a_chain_reads_its_input_from_the_worker_that_stored_it(loads: Path) -> None:
    result = legato.run(tasks.chain, executor=ProcessesExecutor(2))
    assert result.ok, result.error
    assert result.output == {"here": True, "weights": 1001}
    assert _loaded(loads) == 0  # handed over, never unpickled
    stored = result.tasks["train"].output
    assert isinstance(stored, ArtifactRef)
    assert stored.serializer == "pickle"  # recorded as a checksummed artifact all the same


def test_a_second_reader_loads_its_own_copy(loads: Path) -> None:
    result = legato.run(tasks.two_readers, executor=ProcessesExecutor(2))
    assert result.ok, result.error
    scored, counted = result.output
    assert scored["weights"] == 1001
    assert counted == 1000  # never the object the other reader changed
    assert _loaded(loads) == 1


def test_a_retry_loads_the_input_its_first_attempt_changed(loads: Path) -> None:
    result = legato.run(tasks.retried, executor=ProcessesExecutor(1))
    assert result.ok, result.error
    assert result.tasks["flaky"].attempt == 2
    assert result.output == 1000
    assert _loaded(loads) == 1


def _call(**changes: Any) -> TaskCall:
    values: dict[str, Any] = {
        "call_id": 1,
        "run_id": "r",
        "key": "t",
        "task": "t",
        "fn": len,
        "fn_id": "len",
        "attempt": 1,
        "map_index": None,
        "args": (),
        "kwargs": (),
        "resources": Resources(),
        "timeout": None,
    }
    return TaskCall(**{**values, **changes})


def test_a_worker_keeps_only_what_fits_and_hands_each_once(tmp_path: Path, loads: Path) -> None:
    data = HandedOnData(FsspecArtifactStore(f"file://{tmp_path}"), budget=10_000)
    small, big = tasks.Model(10), tasks.Model(100_000)
    kept, dropped = data.pack(_call(), small), data.pack(_call(), big)
    assert isinstance(kept, Stored)
    assert isinstance(dropped, Stored)
    assert kept.ref.serializer in HANDED_ON_SERIALIZERS
    assert handed_on_checksums(_call(args=(Given(Stored(kept.ref)),))) == [kept.ref.checksum]
    assert data.load(Stored(kept.ref)) is small
    again = data.load(Stored(kept.ref))  # handed once: now loaded
    assert again is not small
    assert again.weights == small.weights
    assert data.load(Stored(dropped.ref)) is not big  # over the budget: never kept
    assert _loaded(loads) == 2
