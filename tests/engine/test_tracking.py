"""Experiment tracking end to end: values logged inside tasks on every executor reach the run
store in the loop's commits; stale attempts are fenced; register_model inside a task, fenced
by the run's owner too."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from tracking_tasks import experiment, file_artifact, register, stale, taken_over, train

import legato
from legato.config import load_settings
from legato.errors import FencedError
from legato.model.tracking import Tracked, TrackKind
from legato.runtime import tracking
from legato.store.open import open_run_store


def read(run_id: str) -> list[Tracked]:
    store = open_run_store(load_settings().state_url)
    try:
        return store.read_tracked(run_id)
    finally:
        store.close()


def values(records: list[Tracked], kind: TrackKind) -> dict[tuple[str, str, int], Any]:
    return {(t.key, t.name, t.step): t.value for t in records if t.kind is kind}


def test_values_logged_in_tasks_are_stored(executor: str) -> None:
    result = legato.run(experiment, executor=executor)
    assert result.ok
    got = read(result.run_id)
    assert values(got, TrackKind.METRIC) == {
        ("train", "loss", 0): 1.0,
        ("train", "loss", 1): 0.5,
        ("train", "loss", 2): pytest.approx(1 / 3),
        ("train", "accuracy", 10): 0.5,
        ("train", "accuracy", 20): 0.75,
        ("score[0]", "fold_score", 0): 0.1,
        ("score[1]", "fold_score", 0): 0.2,
    }
    assert values(got, TrackKind.PARAM) == {
        ("prepare", "n", 0): 4,
        ("train", "lr", 0): 0.1,
        ("train", "layers", 0): 2,
        ("train", "names", 0): ["a", "b"],
    }
    assert values(got, TrackKind.TAG) == {("train", "stage", 0): "dev", ("train", "owner", 0): "ml"}
    (artifact,) = [t for t in got if t.kind is TrackKind.ARTIFACT]
    assert artifact.value["checksum"].startswith("xxh3_128:")
    assert {t.map_index for t in got if t.key.startswith("score[")} == {0, 1}
    assert {t.attempt for t in got} == {1}


def test_a_logged_file_is_stored_as_an_artifact(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("all good")
    result = legato.run(file_artifact, {"path": str(report)}, executor="processes")
    (artifact,) = [t for t in read(result.run_id) if t.kind is TrackKind.ARTIFACT]
    assert artifact.value["filename"] == "report.txt"
    from legato.engine.storage import open_storage
    from legato.model.codec import artifact_from_dict

    stored = open_storage(load_settings()).artifacts.get(artifact_from_dict(artifact.value))
    assert stored == b"all good"


def test_outside_a_run_tracking_warns_once_and_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracking, "_warned", set())
    with pytest.warns(RuntimeWarning, match="outside a legato run"):
        out = train.fn([1.0, 2.0], 0.5)  # the plain function, as a unit test calls it
    assert out == {"lr": 0.5, "sum": 3.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train.fn([1.0], 0.5)
    with pytest.warns(RuntimeWarning, match="register_model"):
        assert legato.register_model("m", object()) is None


def test_a_run_that_stores_nothing_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "_warned", set())
    with pytest.warns(RuntimeWarning, match="stores nothing"):
        result = legato.run(experiment, executor="threads", store=False)
    assert result.ok


def test_a_stale_attempt_cannot_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Threads: a timed-out attempt's thread cannot be killed and keeps running (the
    # processes executor kills the worker, so nothing stale is left to write).
    monkeypatch.setenv("LEGATO_TEST_MARKER", str(tmp_path / "marker"))
    result = legato.run(stale, executor="threads")
    assert result.ok
    assert (tmp_path / "marker").read_text() == "logged"  # it did log, after its timeout
    got = read(result.run_id)
    assert [(t.name, t.attempt) for t in got] == [("fresh", 2)]


def test_metric_names_and_values_are_checked() -> None:
    with pytest.raises(TypeError, match="not a number"):
        legato.log_metric("loss", "high")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name"):
        legato.log_metric("", 1.0)
    with pytest.raises(ValueError, match="step"):
        legato.log_metric("loss", 1.0, step=-1)


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_register_model_in_a_task_is_idempotent_under_retry(name: str) -> None:
    result = legato.run(register, {"c": 2.0}, executor=name)
    assert result.ok, result
    assert result.output == "tiny:1"
    with legato.open_registry() as registry:
        (mv,) = registry.versions("tiny")
        assert registry.load(mv) == {"c": 2.0, "rows": 12, "attempt": 1}  # the first attempt's
        assert (mv.run_id, mv.task, mv.attempt) == (result.run_id, "fit_and_register", 1)
        assert mv.params == {"c": 2.0}  # the run's parameters and those the task logged
        assert mv.metrics == {"accuracy": 0.6}  # what attempt 1 had logged
        assert mv.signature is not None
        assert mv.signature["shape"] == [None, 2]
        assert mv.tags == {"kind": "dict"}
        assert mv.fingerprint
        assert "python" in mv.environment
        assert set(mv.inputs) == {"features"}
        assert mv.inputs["features"].startswith("xxh3_128:")
    again = legato.run(register, {"c": 3.0}, executor=name)
    assert again.output == "tiny:2"


def test_register_model_is_refused_once_another_orchestrator_took_the_run_over(
    executor: str, tmp_path: Path
) -> None:
    """The task has its run taken over, then registers: the store refuses the version in the
    transaction that would write it (the orchestrator's owner token travels with the call),
    the task gets ``FencedError`` naming the new owner, and no version exists."""
    ledger = tmp_path / "ledger"
    params = {"store_url": load_settings().state_url, "ledger": str(ledger)}
    with pytest.raises(FencedError, match="another-orchestrator"):  # its next commit
        legato.run(taken_over, params, executor=executor)
    refusal = ledger.read_text()
    assert refusal.startswith("refused: model 'fenced' was not registered by attempt 1 of")
    assert "taken over by another orchestrator (owner 'another-orchestrator', epoch 2)" in refusal
    with legato.open_registry() as registry:
        assert registry.models() == []


def test_register_model_with_an_in_memory_store() -> None:
    result = legato.run(register, executor="threads", store="memory")
    assert result.output == "tiny:1"


def test_compare_shows_params_final_metrics_and_cached_values() -> None:
    first = legato.run(experiment, {"lr": 0.1}, executor="threads")
    second = legato.run(experiment, {"lr": 0.2}, executor="threads")
    third = legato.run(experiment, {"lr": 0.1}, executor="threads")  # all cache hits
    table = legato.runs_compare([first.run_id, second.run_id, third.run_id])
    rows = table.reset_index().to_dict("records")
    assert [r["param.lr"] for r in rows] == [0.1, 0.2, 0.1]
    assert [r["metric.loss"] for r in rows] == [pytest.approx(1 / 3)] * 3
    assert rows[0]["metric.accuracy"] == 0.75
    assert rows[0]["metric.score[0]/fold_score"] == 0.1
    assert rows[0]["notes"] == ""
    assert f"train: from run {first.run_id}" in rows[2]["notes"]
    assert rows[2]["param.layers"] == 2
