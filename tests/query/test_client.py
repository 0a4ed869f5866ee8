"""The Python client (``legato.runs``, ``legato.get_run``, ``legato.latest_output``) over
real runs recorded in the test's own SQLite store, and in PostgreSQL where one answers."""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path
from typing import Any

import branch_pipelines as bp
import client_pipelines as cp
import pytest
import sqlalchemy as sa

import legato
from cli.conftest import SLOW, start, target, wait_for
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.errors import LegatoError, ParameterError, UnknownRunError
from legato.store.sql import SqlRunStore
from legato.store.sql.schema import metadata
from store.conftest import postgres_schema, postgres_server, postgres_url  # noqa: F401


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The profile's run store: the home's SQLite file, or a PostgreSQL schema, emptied
    (the session's other tests wrote there)."""
    if request.param == "postgres":
        monkeypatch.setenv("LEGATO_STATE_URL", request.getfixturevalue("postgres_url"))
        store = open_storage(load_settings()).runs
        assert isinstance(store, SqlRunStore)
        with store.engine.begin() as c:
            for table in reversed(metadata.sorted_tables):
                c.execute(sa.delete(table))
    return str(request.param)


def _run(**params: Any) -> legato.RunResult:
    return legato.run(cp.train, params, executor="inline", store=open_storage(load_settings()))


def test_runs_lists_what_the_store_holds_with_the_api_filters(backend: str) -> None:
    first = _run(n=2, lr=0.5)
    second = _run(n=3, lr=0.25)
    failed = _run(n=3, lr=0.25, fail=True)
    assert failed.state is legato.RunState.FAILED
    listed = legato.runs("train")
    assert [r.run_id for r in listed] == [failed.run_id, second.run_id, first.run_id]
    assert listed[0].state == "failed"
    assert listed[1].params == {"n": 3, "lr": 0.25, "fail": False}
    assert [r.run_id for r in legato.runs(state="succeeded")] == [second.run_id, first.run_id]
    assert [r.run_id for r in legato.runs(params={"lr": 0.25, "fail": True})] == [failed.run_id]
    assert [r.run_id for r in legato.runs(params={"n": 2})] == [first.run_id]
    assert legato.runs(params={"n": "2"}) == []  # compared as recorded: 2 is not "2"
    low = legato.runs(metric="loss", metric_max=0.3)
    assert [r.run_id for r in low] == [second.run_id]
    by_loss = legato.runs(sort="loss", descending=False)
    assert [r.run_id for r in by_loss] == [second.run_id, first.run_id]
    assert [r.run_id for r in legato.runs(tag="stage=test", limit=1)] == [second.run_id]
    assert len(legato.runs(limit=None)) == 3
    later = dt.datetime.fromtimestamp(second.record.ended_at or time.time()) + dt.timedelta(hours=1)
    assert legato.runs(since=later) == []
    assert [r.run_id for r in legato.runs(until=first.record.ended_at)] == [first.run_id]


def test_runs_says_what_is_malformed() -> None:
    with pytest.raises(ParameterError, match="state 'finished' is not one of"):
        legato.runs(state="finished")
    with pytest.raises(ParameterError, match="metric_min and metric_max need metric"):
        legato.runs(metric_min=0.1)
    with pytest.raises(ParameterError, match="limit must be at least 1"):
        legato.runs(limit=0)
    with pytest.raises(ParameterError, match="since must be a datetime"):
        legato.runs(since="yesterday")  # type: ignore[arg-type]


def test_get_run_reads_a_recorded_run_back_as_a_result(backend: str) -> None:
    done = _run(n=4, lr=0.5)
    run = legato.get_run(done.run_id[:10])  # a unique prefix
    assert isinstance(run, legato.RunResult)
    assert run.ok
    assert run.run_id == done.run_id
    assert run.shown_state == "succeeded"
    assert run.state is legato.RunState.SUCCEEDED
    assert run.params == {"n": 4, "lr": 0.5, "fail": False}
    assert run.metrics == {"loss": 0.5}
    assert [p.value for p in run.series["loss"].points] == [1.0, 0.5]
    assert run.tags == {"stage": "test"}
    assert set(run.tasks) == set(done.tasks)
    assert run.output == {
        "result": {"sum": 14.0, "lr": 0.5},
        "n": 4,
        "version": ("v", 1),
        "squares": [0, 1, 4, 9],
    }
    assert run.output == done.output
    assert run.task_output("square[2]") == 4
    assert run.task_output("square") == [0, 1, 4, 9]
    assert run.task_output("numbers") == [0, 1, 2, 3]  # stored item by item for the map
    assert {t.name for t in run.tracked()} == {"loss", "stage"}
    assert "succeeded" in repr(run)


def test_get_run_refuses_what_it_cannot_give_back(backend: str) -> None:
    failed = _run(fail=True)
    run = legato.get_run(failed.run_id)
    assert not run.ok
    assert run.task_output("square[1]") == 1
    with pytest.raises(legato.RunFailedError, match="asked to fail"):
        _ = run.output
    with pytest.raises(ParameterError, match=r"task 'total' of run .* has no output: it is failed"):
        run.task_output("total")
    with pytest.raises(ParameterError, match="has no task 'fit'; its tasks: numbers, square"):
        run.task_output("fit")
    with pytest.raises(UnknownRunError, match="no run has id 'nope' in the run store"):
        legato.get_run("nope")


def test_an_output_made_of_an_object_written_in_the_body_is_refused_clearly() -> None:
    done = legato.run(cp.with_object, executor="inline")
    run = legato.get_run(done.run_id)
    assert run.ok
    assert run.task_output("square") == 9
    with pytest.raises(LegatoError, match=r"recorded only as the text \"PosixPath"):
        _ = run.output


def test_latest_output_is_the_newest_succeeded_runs(backend: str) -> None:
    with pytest.raises(UnknownRunError, match="no run of pipeline 'train' is recorded"):
        legato.latest_output("train")
    failed = _run(fail=True)
    with pytest.raises(
        UnknownRunError, match=f"no succeeded run yet; its newest runs: {failed.run_id} failed"
    ):
        legato.latest_output("train")
    _run(n=2)
    _run(n=3, lr=0.2)
    _run(fail=True)
    assert legato.latest_output("train")["result"] == {"sum": 5.0, "lr": 0.2}
    assert legato.latest_output("train", task="square") == [0, 1, 4]
    assert legato.latest_output("train", "total") == {"sum": 5.0, "lr": 0.2}
    with pytest.raises(UnknownRunError, match="pipelines with recent runs: 'train'"):
        legato.latest_output("trian")


def test_a_skipped_output_is_explained_when_read_back(backend: str) -> None:
    store = open_storage(load_settings())
    skipped = legato.run(bp.no_otherwise, {"value": 0.5}, executor="inline", store=store)
    run = legato.get_run(skipped.run_id)
    assert run.ok
    with pytest.raises(legato.OutputSkippedError) as caught:
        _ = run.output
    assert caught.value.task == "one_of"
    assert "branch 'when' was not taken (the condition was False)" in caught.value.because
    with pytest.raises(legato.OutputSkippedError, match=f"run {skipped.run_id} of pipeline"):
        legato.latest_output("no_otherwise")  # the newest succeeded run: it has no value
    with pytest.raises(ParameterError, match="has no output: it is skipped"):
        run.task_output("one_of")
    legato.run(bp.no_otherwise, {"value": 5.0}, executor="inline", store=store)
    assert legato.latest_output("no_otherwise") == "MEDIUM"


def test_a_profile_chooses_the_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-home"
    (tmp_path / "legato.toml").write_text(f'[profiles.other]\nhome = "{other}"\n')
    monkeypatch.delenv("LEGATO_HOME")
    monkeypatch.chdir(tmp_path)
    done = legato.run(cp.train, {"n": 2}, executor="inline", profile="other")
    assert legato.runs(profile="other")[0].run_id == done.run_id
    assert legato.runs() == []  # the default profile's store has none
    assert legato.latest_output("train", "square", profile="other") == [0, 1]
    assert legato.get_run(done.run_id, profile="other").ok


def test_a_run_whose_orchestrator_died_is_crashed_as_everywhere(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    proc = start("run", target("gated", SLOW), "-p", f"gate={gate}")
    try:
        run_id = wait_for(Path(f"{gate}.started"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    # Dead less than stale_after ago: the store still finds it by its stored state, and it
    # is shown crashed (the API's list says the same).
    listed = legato.runs(state="running")
    assert [(r.run_id, r.state) for r in listed] == [(run_id, "crashed")]
    run = legato.get_run(run_id)
    assert run.shown_state == "crashed"
    assert run.state is legato.RunState.RUNNING  # where it stood when it died
    with pytest.raises(legato.RunFailedError, match="running"):
        _ = run.output
