"""The collector's thresholds are raised while runs are driven and restored after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import legato
from legato import pipeline, task
from legato.engine.collector import RUN_THRESHOLDS, fewer_collections


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


@task
def seen() -> tuple[int, int, int]:
    return gc.get_threshold()


@pipeline
def reads_thresholds() -> tuple[int, int, int]:
    return seen()  # type: ignore[no-any-return]


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_run_collects_less_often_and_gives_the_thresholds_back(executor: str) -> None:
    result = legato.run(reads_thresholds, executor=executor)
    assert result.output == RUN_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_the_last_of_overlapping_runs_restores() -> None:
    outer = fewer_collections()
    outer.__enter__()
    with fewer_collections():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == RUN_THRESHOLDS  # the outer run is still driven
    outer.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("chosen", [(0, 10, 10), (100_000, 50, 50)])
def test_a_collector_turned_off_or_tuned_higher_is_left_alone(chosen: tuple[int, int, int]) -> None:
    gc.set_threshold(*chosen)
    with fewer_collections():
        assert gc.get_threshold() == chosen
    assert gc.get_threshold() == chosen
