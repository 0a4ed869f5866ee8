"""A run's cache options are part of the run: ``RunStarted`` records ``cache=False`` and
``refresh=...``, the reducer folds them into the run record, and a resume applies them again,
so it reuses no stored result the run itself refused (here: results of an earlier run that
filled the cache)."""

from __future__ import annotations

from legato.engine.reducer import fold
from legato.model.codec import event_from_dict, event_to_dict
from legato.model.events import RunStarted
from legato.model.runs import CacheOptions


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
