"""A run that fails is an answer, not an error: ``run`` returns its failed ``RunResult`` and
``start(...).wait()`` too, whatever the store (durable, in memory, none), and the caller
raises with ``raise_for_status()`` when it wants to."""

from __future__ import annotations

from pathlib import Path

import pytest
from gated_pipelines import gated

import legato
from legato.engine.result import RunResult
from legato.engine.storage import StoreOption
from legato.model.states import RunState, TaskState

STORES: list[StoreOption] = [None, "memory", False]


def _check_failed(result: RunResult, flag: Path) -> None:
    assert result.state is RunState.FAILED
    assert not result.ok
    assert result.tasks["double"].state is TaskState.SUCCEEDED
    assert result.tasks["gate"].state is TaskState.FAILED
    assert [f.task for f in result.failures()] == ["gate"]
    with pytest.raises(legato.RunFailedError, match=f"failing on purpose while {flag}") as raised:
        result.raise_for_status()
    assert raised.value.result is result
    with pytest.raises(legato.RunFailedError):
        _ = result.output


@pytest.mark.usefixtures("ledger")
@pytest.mark.parametrize("store", STORES, ids=["durable", "memory", "none"])
@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_failed_run_returns_its_result_whatever_the_store(
    tmp_path: Path, store: StoreOption, executor: str
) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    result = legato.run(gated, {"flag": str(flag)}, store=store, executor=executor)
    _check_failed(result, flag)


@pytest.mark.usefixtures("ledger")
@pytest.mark.parametrize("store", STORES, ids=["durable", "memory", "none"])
def test_a_failed_background_run_returns_its_result_whatever_the_store(
    tmp_path: Path, store: StoreOption
) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    handle = legato.start(gated, {"flag": str(flag)}, store=store)
    _check_failed(handle.wait(30), flag)
