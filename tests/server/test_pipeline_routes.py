"""``GET /api/v1/pipelines/{name}``: a pipeline's graph and parameter form before any run,
read by a child process."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

import legato
from legato.server.app import create_app
from legato.server.auth import Tokens

from .conftest import BASE, PIPELINES, headers_for, server_config

TYPED = Path(__file__).parents[1] / "resources" / "cli_pipelines.py"


def _client(tokens: Tokens, who: str, **changes: Any) -> TestClient:
    config = dataclasses.replace(server_config(tokens), **changes)
    return TestClient(create_app(config), base_url=BASE, headers=headers_for(who, tokens))


def test_a_pipelines_graph_before_any_run_is_drawn_as_a_runs_is(
    viewer: TestClient, scored_runs: list[legato.RunResult]
) -> None:
    answer = viewer.get("/api/v1/pipelines/scored")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["name"] == "scored"
    assert found["pipeline"] == "scored"
    assert found["target"] == f"{PIPELINES}:scored"
    run_graph = viewer.get(f"/api/v1/runs/{scored_runs[0].run_id}/graph").json()
    assert found["fingerprint"] == run_graph["fingerprint"]  # the version its runs record
    assert (found["layers"], found["width"]) == (run_graph["layers"], run_graph["width"])
    assert found["edges"] == run_graph["edges"]
    drawn = {n["key"]: n for n in found["nodes"]}
    for node in run_graph["nodes"]:
        assert {**node, "state": None, "items": {} if node["mapped"] else None} == drawn[
            node["key"]
        ]
    params = {p["name"]: p for p in found["params"]}
    assert params["n"] == {
        "name": "n",
        "kind": "integer",
        "annotation": "int",
        "hint": "an integer",
        "required": False,
        "default": 3,
        "nullable": False,
        "choices": [],
    }
    assert params["score"]["kind"] == "number"
    assert params["score"]["default"] == 0.5


def test_a_pipelines_parameters_as_a_form(tokens: Tokens) -> None:
    with _client(tokens, "viewer", pipelines={"typed": f"{TYPED}:typed"}) as viewer:
        found = viewer.get("/api/v1/pipelines/typed").json()
    params = {p["name"]: p for p in found["params"]}
    assert params["n"]["required"]
    assert params["n"]["default"] is None
    assert (params["path"]["kind"], params["path"]["default"]) == ("path", "data.csv")
    assert (params["sizes"]["kind"], params["sizes"]["default"]) == ("list", [1])
    assert params["sizes"]["hint"] == "a JSON list of integers, e.g. [1, 2]"
    assert (params["when"]["kind"], params["when"]["default"]) == ("date", "2024-01-01")
    assert params["at"]["kind"] == "datetime"
    assert params["at"]["nullable"]
    assert params["mode"]["kind"] == "choice"
    assert params["mode"]["choices"] == ["FAST", "SLOW"]
    assert params["mode"]["default"] == "FAST"  # a member by its name, as its choices
    assert params["choice"]["choices"] == ["a", "b"]
    assert params["choice"]["default"] == "a"
    assert params["maybe"]["kind"] == "integer"
    assert params["maybe"]["nullable"]
    assert params["weights"]["kind"] == "object"
    assert params["untyped"]["kind"] == "string"  # the type of its default
    assert params["flag"] == {**params["flag"], "kind": "boolean", "default": False}


def test_an_unknown_or_broken_pipeline_is_refused_clearly(tokens: Tokens, tmp_path: Path) -> None:
    gone = tmp_path / "gone.py"
    with _client(tokens, "viewer", pipelines={"gone": f"{gone}:p"}) as viewer:
        unknown = viewer.get("/api/v1/pipelines/nope")
        assert unknown.status_code == 404
        assert "knows no pipeline 'nope'; it knows: gone" in unknown.json()["error"]
        broken = viewer.get("/api/v1/pipelines/gone")
        assert broken.status_code == 409
        assert f"no such file: {gone}" in broken.json()["error"]


def test_requests_at_once_share_one_child(app: Any) -> None:
    graphs = app.api.state.graphs
    target = f"{PIPELINES}:scored"
    start = threading.Barrier(4)
    answers: list[Any] = []

    def ask() -> None:
        start.wait()
        answers.append(graphs.pipeline("scored", target))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4
    assert len({a.fingerprint for a in answers}) == 1
    assert graphs.loads == 1  # one child read it for all four
    graphs.pipeline("scored", target)
    assert graphs.loads == 2  # a later request reads the code as it is then
