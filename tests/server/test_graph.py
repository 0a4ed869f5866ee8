"""A run's graph through the API: the pipeline's nodes and edges read in a child process,
laid out once per pipeline version, each node with its state (a map one group node with
its items counted per state); refused when the code changed since the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import legato
from legato.define.loader import load_pipeline
from legato.server.app import SecuredApp

from .processes import RESOURCES


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runs' target is the module server_pipelines: the shape's child process imports it.
    monkeypatch.setenv("PYTHONPATH", str(RESOURCES))


def test_a_runs_graph_with_states_and_a_layered_layout(
    viewer: TestClient, scored_runs: Any, app: SecuredApp
) -> None:
    body = viewer.get(f"/api/v1/runs/{scored_runs[0].run_id}/graph").json()
    nodes = {n["key"]: n for n in body["nodes"]}
    assert list(nodes) == ["prepare", "square", "fit"]
    assert [(e["source"], e["target"]) for e in body["edges"]] == [
        ("prepare", "square"),
        ("square", "fit"),
    ]
    assert [(n["layer"], n["order"]) for n in nodes.values()] == [(0, 0), (1, 0), (2, 0)]
    assert nodes["square"]["mapped"]
    assert nodes["square"]["items"] == {"succeeded": 3}
    assert nodes["fit"]["state"] == "succeeded"
    assert nodes["fit"]["items"] is None
    assert (body["layers"], body["width"]) == (3, 1)
    # The other runs are of the same version: its shape was read once.
    for run in scored_runs[1:]:
        assert viewer.get(f"/api/v1/runs/{run.run_id}/graph").status_code == 200
    assert app.api.state.graphs.loads == 1


def test_a_graph_is_refused_once_the_code_changed(
    viewer: TestClient, storage: Any, tmp_path: Path
) -> None:
    source = tmp_path / "edited.py"
    source.write_text(
        "from legato import pipeline, task\n\n"
        "@task\ndef one() -> int:\n    return 1\n\n"
        "@pipeline\ndef edited() -> int:\n    return one()\n"
    )
    run = legato.run(load_pipeline(f"{source}:edited"), {}, executor="inline", store=storage)
    source.write_text(source.read_text().replace("return 1", "return 2"))
    answer = viewer.get(f"/api/v1/runs/{run.run_id}/graph")
    assert answer.status_code == 409
    assert "has changed since" in answer.json()["error"]


def test_a_branch_shows_its_decision_and_the_skipped_side(
    viewer: TestClient, storage: Any, tmp_path: Path
) -> None:
    source = tmp_path / "branching.py"
    source.write_text(
        "import legato\nfrom legato import pipeline, task\n\n"
        "@task\ndef check() -> bool:\n    return True\n\n"
        "@task\ndef act() -> int:\n    return 1\n\n"
        "@task\ndef rest() -> int:\n    return 0\n\n"
        "@pipeline\ndef branching() -> int:\n"
        "    with legato.when(check()):\n        a = act()\n"
        "    with legato.otherwise():\n        r = rest()\n"
        "    return legato.one_of(a, r)\n"
    )
    run = legato.run(load_pipeline(f"{source}:branching"), {}, executor="inline", store=storage)
    body = viewer.get(f"/api/v1/runs/{run.run_id}/graph").json()
    nodes = {n["key"]: n for n in body["nodes"]}
    assert (nodes["when"]["role"], nodes["when"]["state"]) == ("branch", "succeeded")
    assert (nodes["otherwise"]["role"], nodes["otherwise"]["state"]) == ("branch", "skipped")
    assert nodes["rest"]["state"] == "skipped"
    assert (nodes["one_of"]["role"], nodes["one_of"]["state"]) == ("join", "succeeded")
    assert ("when", "act") in [(e["source"], e["target"]) for e in body["edges"]]
