"""A run's cache options are part of the run: ``RunStarted`` records ``cache=False`` and
``refresh=...``, the reducer folds them into the run record, and a resume applies them again,
so it reuses no stored result the run itself refused (here: results of an earlier run that
filled the cache)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gated_pipelines import gated
from ledger_notes import notes

import legato
from legato.config import load_settings
from legato.engine.options import RunOptions
from legato.engine.reducer import fold
from legato.engine.result import RunResult
from legato.engine.storage import open_storage
from legato.model.cache_options import CacheOptions
from legato.model.codec import event_from_dict, event_to_dict
from legato.model.events import RunStarted
from legato.model.states import RunState


def _fail_then_resume(flag: Path, ledger: Path, options: RunOptions) -> tuple[RunResult, RunResult]:
    """A run that fills the cache, then a run with ``options`` that fails in ``gate``, then
    its resume once the flag is gone."""
    params = {"flag": str(flag)}
    filled = legato.run(gated, params, executor="inline")
    assert filled.ok
    flag.touch()
    failed = legato.run(gated, params, options, executor="inline")
    assert failed.state is RunState.FAILED
    flag.unlink()
    ledger.write_text("")
    return failed, legato.resume(failed.run_id)


def test_a_run_without_the_cache_is_resumed_without_it(tmp_path: Path, ledger: Path) -> None:
    failed, resumed = _fail_then_resume(tmp_path / "flag", ledger, RunOptions(cache=False))
    assert failed.record.caching == CacheOptions(lookups=False)
    assert resumed.ok
    assert resumed.record.caching == CacheOptions(lookups=False)
    assert [t.cache_hit for t in resumed.tasks.values()] == [None, None]
    gate = resumed.tasks["gate"]
    assert (gate.attempt, gate.reason) == (2, "cache: off for this run")
    assert notes(ledger) == [["gate"]]  # ran again; 'double' had succeeded in the run


def test_a_refresh_applies_again_when_the_run_is_resumed(tmp_path: Path, ledger: Path) -> None:
    failed, resumed = _fail_then_resume(tmp_path / "flag", ledger, RunOptions(refresh=["gate"]))
    assert failed.tasks["double"].cache_hit is not None  # only 'gate' was refreshed
    assert resumed.ok
    assert resumed.record.caching == CacheOptions(refresh=frozenset({"gate"}))
    gate = resumed.tasks["gate"]
    assert (gate.attempt, gate.cache_hit, gate.reason) == (2, None, "cache: refresh requested")
    assert notes(ledger) == [["gate"]]


def test_a_run_with_the_cache_still_looks_results_up_when_resumed(
    tmp_path: Path, ledger: Path
) -> None:
    flag = tmp_path / "flag"
    params = {"flag": str(flag)}
    flag.touch()
    failed = legato.run(gated, params, executor="inline")  # nothing cached yet: 'gate' fails
    assert failed.state is RunState.FAILED
    flag.unlink()
    other = legato.run(gated, params, executor="inline")  # stores a result for 'gate'
    ledger.write_text("")
    resumed = legato.resume(failed.run_id)
    assert resumed.ok
    assert resumed.record.caching == CacheOptions()
    assert resumed.tasks["gate"].cache_hit == other.run_id
    assert notes(ledger) == []


@pytest.mark.parametrize(
    ("options", "caching"),
    [
        (RunOptions(), CacheOptions()),
        (RunOptions(cache=False), CacheOptions(lookups=False)),
        (RunOptions(refresh="gate"), CacheOptions(refresh=frozenset({"gate"}))),
        (RunOptions(refresh=True), CacheOptions(refresh=True)),
        (RunOptions(refresh=[]), CacheOptions()),
    ],
)
def test_the_run_started_event_records_the_cache_options(
    tmp_path: Path, ledger: Path, options: RunOptions, caching: CacheOptions
) -> None:
    result = legato.run(gated, {"flag": str(tmp_path / "absent")}, options)
    events = open_storage(load_settings()).runs.read_events(result.run_id)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert started.caching == caching
    assert fold(events).caching == caching


def test_the_codec_writes_cache_options_only_when_they_are_not_the_defaults() -> None:
    plain = RunStarted(run_id="r", seq=1, at=0.0, pipeline="p")
    assert {"cache", "refresh"}.isdisjoint(event_to_dict(plain))
    for caching in (
        CacheOptions(lookups=False),
        CacheOptions(refresh=True),
        CacheOptions(lookups=False, refresh=frozenset({"b", "a"})),
    ):
        event = RunStarted(run_id="r", seq=1, at=0.0, pipeline="p", caching=caching)
        assert event_from_dict(event_to_dict(event)) == event
    assert event_to_dict(
        RunStarted(
            run_id="r",
            seq=1,
            at=0.0,
            pipeline="p",
            caching=CacheOptions(refresh=frozenset({"b", "a"})),
        )
    )["refresh"] == ["a", "b"]


def test_a_start_event_written_before_cache_options_were_recorded_reads_as_the_defaults() -> None:
    old = {
        "v": 1,
        "type": "start",
        "run_id": "r",
        "seq": 1,
        "at": 0.0,
        "pipeline": "p",
        "params": {},
        "tasks": [["a", "a", False]],
        "executor": "threads",
        "failure_policy": "keep_going",
    }
    event = event_from_dict(old)
    assert isinstance(event, RunStarted)
    assert event.caching == CacheOptions()
    assert fold([event]).caching == CacheOptions()
