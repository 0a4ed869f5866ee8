"""Starting a run of a pipeline the server knows: ``legato run`` in a child process, its
parameters checked as the command checks them, the answer naming the run once it exists."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from legato.errors import ParameterError
from legato.server.actions import pipeline_names
from legato.server.auth import Tokens

from .conftest import PIPELINES, headers_for


@pytest.fixture
def operator(client: TestClient, tokens: Tokens) -> TestClient:
    client.headers.update(headers_for("operator", tokens))
    return client


def _ended(client: TestClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/runs/{run_id}").json()["run"]
        if run["state"] in ("succeeded", "failed", "cancelled"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end")


def test_the_pipelines_the_server_can_start(operator: TestClient) -> None:
    body = operator.get("/api/v1/pipelines").json()
    assert body["pipelines"] == [
        {"name": "scored", "target": f"{PIPELINES}:scored"},
        {"name": "slow", "target": f"{PIPELINES}:slow"},
    ]


def test_a_run_started_through_the_api_gets_its_typed_parameters(operator: TestClient) -> None:
    answer = operator.post(
        "/api/v1/pipelines/scored/runs", json={"params": {"score": "0.4", "n": 2}}
    )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["action"] == "run"
    assert accepted["run_id"]
    run = _ended(operator, accepted["run_id"])
    assert run["state"] == "succeeded"
    assert run["params"] == {"n": 2, "score": 0.4}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"n": "many"}, "parameter 'n' of pipeline 'scored' expects an integer, not 'many'"),
        ({"nope": "1"}, "pipeline 'scored' has no parameter 'nope'"),
        ({"not a name": "1"}, "not a Python identifier"),
    ],
)
def test_parameters_are_refused_as_legato_run_refuses_them(
    operator: TestClient, params: dict[str, Any], says: str
) -> None:
    answer = operator.post("/api/v1/pipelines/scored/runs", json={"params": params})
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]
    assert operator.get("/api/v1/runs").json()["runs"] == []


def test_an_unknown_pipeline_names_the_known_ones(operator: TestClient) -> None:
    answer = operator.post("/api/v1/pipelines/other/runs", json={})
    assert answer.status_code == 404
    assert "scored, slow" in answer.json()["error"]


def test_targets_must_name_their_pipeline() -> None:
    assert pipeline_names(["a.py:train", "pkg.mod:score"]) == {
        "train": "a.py:train",
        "score": "pkg.mod:score",
    }
    with pytest.raises(ParameterError, match="names no pipeline"):
        pipeline_names(["a.py"])
    with pytest.raises(ParameterError, match="two pipelines"):
        pipeline_names(["a.py:train", "b.py:train"])
