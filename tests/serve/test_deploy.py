"""``legato.deploy`` in a pipeline: gates, promotion, a smoke test against a live server or
in-process, automatic rollback, and undoing the deployment when a later task fails."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import deploy_pipelines as dp
import httpx
import pytest

import legato
from legato import RollbackState, RunState
from legato.registry import Registry, open_registry
from legato.store.artifacts import FsspecArtifactStore
from legato.store.base import Storage
from legato.store.open import open_run_store

from .conftest import publish, start_server


def _error(result: legato.RunResult, key: str) -> str:
    error = result.tasks[key].error
    assert error is not None
    return f"{error.type_name}: {error.message}"


@pytest.mark.parametrize(
    ("accuracy", "refusal"),
    [
        (0.5, "gate accuracy >= 0.9: accuracy 0.5 is not >= 0.9"),
        (0.93, "worse by 0.02, more than the margin 0.01"),
    ],
)
def test_the_gates_refuse_a_bad_model_and_nothing_changes(
    registry: Registry, accuracy: float, refusal: str
) -> None:
    publish(registry, 1.0, accuracy=0.95)

    result = legato.run(dp.ship, {"accuracy": accuracy}, executor="inline")

    assert result.state is RunState.FAILED
    assert "legato.errors.DeploymentError" in _error(result, "deploy")
    assert refusal in _error(result, "deploy")
    assert registry.alias("rowsum", "production").version == 1  # type: ignore[union-attr]
    assert [c.version for c in registry.history("rowsum", "production")] == [1]
    assert result.rollbacks == {}  # deploy did not succeed: nothing of it to undo


def test_a_good_model_is_promoted_after_its_smoke_test(registry: Registry) -> None:
    publish(registry, 1.0)

    result = legato.run(dp.ship, {"accuracy": 0.97}, executor="threads")

    assert result.ok, result.record.reason
    assert result.output == "rowsum:2"
    assert registry.alias("rowsum", "production").version == 2  # type: ignore[union-attr]
    (_, second) = registry.history("rowsum", "production")
    assert (second.version, second.previous) == (2, 1)
    assert second.actor.startswith(f"legato run {result.run_id} task deploy")


class Listener:
    """Sends ``POST /predict`` to a server in a loop and records (status, version) of every
    answer, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[int, int | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                r = client.post("/predict", json={"inputs": [[1.0, 2.0, 3.0]]})
                self.answers.append((r.status_code, r.json().get("version")))
                time.sleep(0.005)


@pytest.mark.parametrize("where", ["on the server", "in-process"])
def test_a_candidate_failing_its_smoke_test_is_never_served(registry: Registry, where: str) -> None:
    """The smoke test tries version 2 before any alias names it (on the following server
    itself, or in the task's process): it fails, production never moves, and no answer of
    /predict ever comes from version 2."""
    publish(registry, 1.0)
    server = start_server("rowsum@production", "--poll", "0.05")
    url = server.url if where == "on the server" else ""
    try:
        with Listener(server.url) as listener:
            # Version 2 predicts negative sums: its gates pass, its smoke test cannot.
            result = legato.run(
                dp.ship, {"factor": -1.0, "accuracy": 0.97, "url": url}, executor="threads"
            )
            time.sleep(0.5)  # ten polls of the alias after the deploy
    finally:
        server.stop()

    assert result.state is RunState.FAILED
    message = _error(result, "deploy")
    assert "rowsum:2 failed its smoke test and was not promoted to 'production'" in message
    assert "the predictions failed the check: [-6.0]" in message
    assert [c.version for c in registry.history("rowsum", "production")] == [1]
    assert listener.answers
    assert set(listener.answers) == {(200, 1)}  # it kept answering, only ever with version 1


def test_a_candidate_passing_its_smoke_test_on_the_server_is_served_after_it(
    registry: Registry,
) -> None:
    publish(registry, 1.0)
    server = start_server("rowsum@production", "--poll", "0.05")
    try:
        with Listener(server.url) as listener:
            result = legato.run(
                dp.ship, {"factor": 2.0, "accuracy": 0.97, "url": server.url}, executor="threads"
            )
            deadline = time.monotonic() + 15
            while (200, 2) not in listener.answers[-5:]:
                assert time.monotonic() < deadline, "the server did not follow the alias"
                time.sleep(0.05)
    finally:
        server.stop()

    assert result.ok, result.record.reason
    (_, promoted) = registry.history("rowsum", "production")
    assert promoted.version == 2
    assert promoted.reason.endswith(", smoke test passed)")
    switched = listener.answers.index((200, 2))
    assert set(listener.answers[:switched]) == {(200, 1)}
    assert set(listener.answers[switched:]) == {(200, 2)}  # one switch, never back


@pytest.mark.parametrize(("factor", "passes"), [(2.0, True), (-1.0, False)])
def test_a_first_deployment_is_smoke_tested_on_a_server_waiting_for_the_alias(
    registry: Registry, factor: float, passes: bool
) -> None:
    """No version has ever been registered when the server starts: it waits (503), the
    deploy tries version 1 on it, and only a passing one is ever served."""
    server = start_server("rowsum@production", "--poll", "0.05")
    try:
        with Listener(server.url) as listener:
            result = legato.run(
                dp.ship, {"factor": factor, "accuracy": 0.97, "url": server.url}, executor="threads"
            )
            deadline = time.monotonic() + 15
            while passes and (200, 1) not in listener.answers[-5:]:
                assert time.monotonic() < deadline, "the server did not follow the alias"
                time.sleep(0.05)
            time.sleep(0.3)
    finally:
        server.stop()

    assert result.ok is passes, result.record.reason
    assert listener.answers[0] == (503, None)
    if passes:
        assert registry.alias("rowsum", "production").version == 1  # type: ignore[union-attr]
        assert set(listener.answers) == {(503, None), (200, 1)}
    else:
        assert "rowsum:1 failed its smoke test" in _error(result, "deploy")
        assert registry.aliases("rowsum") == {}
        assert set(listener.answers) == {(503, None)}


def test_a_later_failure_in_the_run_undoes_the_deployment(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(registry, 1.0)
    monkeypatch.setenv("LEGATO_TEST_FAIL_AFTER_DEPLOY", "1")

    result = legato.run(dp.ship, {"accuracy": 0.97}, executor="threads")

    assert result.state is RunState.FAILED
    assert result.record.reason == "failed: monitor; rolled back 1 task"
    assert result.rollbacks["deploy"].state is RollbackState.SUCCEEDED
    assert registry.alias("rowsum", "production").version == 1  # type: ignore[union-attr]
    last = registry.history("rowsum", "production")[-1]
    assert (last.action, last.version, last.previous) == ("rollback", 1, 2)
    assert f"run {result.run_id} failed after the deploy (failed: monitor)" in last.reason


def test_gates_compare_with_the_current_version(registry: Registry) -> None:
    current = publish(registry, 1.0, accuracy=0.9)
    better = registry.register("rowsum", {"v": 2}, metrics={"accuracy": 0.95})
    bare = registry.register("rowsum", {}, metrics={})
    gate = legato.gates.not_worse_than_current("accuracy", margin=0.01)
    assert gate.check(better, current).passed
    assert gate.check(better, None).passed
    assert not gate.check(bare, current).passed
    assert not gate.check(current, better).passed
    lower = legato.gates.not_worse_than_current("loss", higher_is_better=False)
    assert lower.check(bare, current).message == "rowsum:3 has no metric 'loss'"
    assert legato.gates.metric_at_most("accuracy", 0.92).check(current, None).passed


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_deploy_uses_the_registry_of_the_runs_own_store(tmp_path: Path, executor: str) -> None:
    """A run given its own store (not the profile's) registers there, and deploys there."""
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    artifacts = str(tmp_path / "elsewhere-artifacts")
    storage = Storage(runs=open_run_store(url), artifacts=FsspecArtifactStore(artifacts))
    try:
        result = legato.run(dp.ship, {"accuracy": 0.97}, executor=executor, store=storage)
    finally:
        storage.close()

    assert result.ok, result.record.reason
    assert result.output == "rowsum:1"
    with open_registry(store=url, artifacts=artifacts) as own:
        assert own.alias("rowsum", "production").version == 1  # type: ignore[union-attr]
    with open_registry() as profiles:
        assert profiles.models() == []  # nothing went to the profile's registry
