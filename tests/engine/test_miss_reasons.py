"""Why a task missed the cache, read from what earlier runs recorded for that task: the
newest of the last three runs of the pipeline that recorded cache parts for it, asked for
the missed tasks only (``engine.caching.EarlierParts``)."""

from __future__ import annotations

import legato
from legato import RunState
from legato.config import load_settings
from legato.engine.caching import EarlierParts
from legato.store.open import open_run_store


@legato.task
def first(p: int) -> int:
    return p


@legato.task
def gate(x: int, fail: bool) -> int:
    if fail:
        raise RuntimeError("the gate fails on request")
    return x


@legato.task
def second(x: int, p: int) -> int:
    return x + p


@legato.pipeline
def three(p: int = 1, fail: bool = False) -> int:
    return second(gate(first(p), fail), p)


def test_a_miss_is_explained_by_the_last_run_that_ran_the_task_not_only_the_last_run() -> None:
    assert legato.run(three).ok
    # The second run records parts for `first` (a hit) and stops at `gate`: the newest
    # parts of `gate` and `second` are the first run's.
    assert legato.run(three, {"fail": True}).state is RunState.FAILED

    third = legato.run(three, {"p": 2})

    assert third.ok
    assert third.tasks["first"].reason == "cache: miss, parameters changed"
    assert third.tasks["gate"].reason == "cache: miss, inputs changed"
    assert third.tasks["second"].reason == "cache: miss, inputs and parameters changed"


def test_earlier_parts_are_read_for_the_keys_asked_newest_run_first() -> None:
    one = legato.run(three)
    failed = legato.run(three, {"p": 5, "fail": True})
    store = open_run_store(load_settings().state_url)
    try:
        assert set(store.cache_parts(failed.run_id)) == {"first"}
        found = EarlierParts(store, [failed.run_id, one.run_id]).of(["gate", "first", "nowhere"])
        assert found == {
            "first": store.cache_parts(failed.run_id)["first"],
            "gate": store.cache_parts(one.run_id)["gate"],
        }
        assert found["first"] != store.cache_parts(one.run_id)["first"]  # the newest run's
        assert EarlierParts(store, ()).of(["first"]) == {}
    finally:
        store.close()
