"""Run-time capacity for custom resources (the run's ``capacity``, the profile's, and
``LEGATO_CAPACITY``), and memory requests enforced as limits in worker processes: a task
over its limit fails with a MemoryError naming the limit, and the worker lives on."""

from __future__ import annotations

from pathlib import Path

import pytest
import resource_limits as limits
from ledger_notes import notes

import legato
from legato import PlanError, ThreadsExecutor
from legato.config import load_settings
from legato.errors import ParameterError
from legato.model.states import TaskState


def test_a_custom_resource_needs_a_capacity(ledger: Path) -> None:
    with pytest.raises(PlanError) as info:
        legato.run(limits.two_db_tasks, executor="threads")
    assert "'db'" in str(info.value)


def test_the_run_capacity_bounds_what_runs_at_once(executor: str, ledger: Path) -> None:
    result = legato.run(limits.two_db_tasks, executor=executor, capacity="db=1")
    assert result.ok, result.failures()
    assert result.output == ["USERS", "ORDERS"]
    # One db slot: the second query starts only once the first has ended.
    order = [n[0] for n in notes(ledger) if n[0].startswith("query")]
    assert order == ["query-start", "query-end", "query-start", "query-end"]


def test_the_capacity_from_the_environment_and_a_profile(
    ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGATO_CAPACITY", "db=2")
    assert legato.run(limits.two_db_tasks, executor="threads").ok
    monkeypatch.delenv("LEGATO_CAPACITY")
    (tmp_path / "legato.toml").write_text(
        'capacity = { db = 1, gpus = 0 }\n[profiles.big]\ncapacity = { db = 4, memory = "1GiB" }\n'
    )
    settings = load_settings("big", cwd=tmp_path)
    assert dict(settings.capacity) == {"db": 4, "gpus": 0, "memory": "1GiB"}


def test_a_bad_capacity_is_refused_naming_the_option() -> None:
    with pytest.raises(ParameterError, match=r"option 'capacity'.*'db' is not NAME=AMOUNT"):
        legato.run(limits.two_db_tasks, capacity="db")
    with pytest.raises(ParameterError, match="executor object"):
        legato.run(limits.two_db_tasks, executor=ThreadsExecutor(), capacity={"db": 1})


def test_a_task_over_its_memory_limit_fails_and_the_worker_lives_on(ledger: Path) -> None:
    from legato import ProcessesExecutor

    result = legato.run(limits.over_the_limit, executor=ProcessesExecutor(max_workers=1))
    hog = result.tasks["hog"]
    assert hog.state is TaskState.FAILED
    assert hog.error is not None
    assert hog.error.type_name == "builtins.MemoryError"
    assert "memory limit of 64 MiB" in hog.error.message
    assert "Resources(memory=..., limit=True)" in hog.error.message
    # The same worker then ran an unlimited 128 MiB task and a limited small one.
    assert result.tasks["big"].state is TaskState.SUCCEEDED
    assert result.tasks["hog_2"].state is TaskState.SUCCEEDED
    pids = {n[1] for n in notes(ledger) if n[0] in ("hog", "big")}
    assert len(pids) == 1


def test_threads_keep_memory_a_request(ledger: Path) -> None:
    result = legato.run(limits.over_the_limit, executor="threads")
    assert result.ok, result.failures()


def test_a_bad_capacity_in_a_profile_names_the_key(tmp_path: Path) -> None:
    from legato.errors import ConfigError

    (tmp_path / "legato.toml").write_text('[profiles.big]\ncapacity = { db = "lots" }\n')
    with pytest.raises(ConfigError) as info:
        load_settings("big", cwd=tmp_path)
    text = str(info.value)
    assert "profiles.big.capacity" in text
    assert "db='lots' is not an amount >= 0" in text
