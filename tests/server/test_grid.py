"""The runs grid through the API: runs (rows) x the union of their planned tasks (columns,
paged), each cell a task's state, a map one column with its items counted per state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

import legato
from legato.define.loader import load_pipeline


def other_run(storage: Any, tmp_path: Path) -> Any:
    """A run of another pipeline: a task named as one of scored's, and one of its own."""
    source = tmp_path / "other.py"
    source.write_text(
        "from legato import pipeline, task\n\n"
        "@task\ndef prepare() -> int:\n    return 1\n\n"
        "@task\ndef extra(x: int) -> int:\n    return x + 1\n\n"
        "@pipeline\ndef other() -> int:\n    return extra(prepare())\n"
    )
    return legato.run(load_pipeline(f"{source}:other"), {}, executor="inline", store=storage)


def test_the_latest_runs_by_their_planned_tasks(
    viewer: TestClient, scored_runs: Any, storage: Any, tmp_path: Path
) -> None:
    other = other_run(storage, tmp_path)
    body = viewer.get("/api/v1/grid").json()
    # newest first; the columns in plan order, the newest run's first
    assert [r["run"]["run_id"] for r in body["rows"]] == [other.run_id] + [
        r.run_id for r in reversed(scored_runs)
    ]
    assert body["columns"] == ["prepare", "extra", "square", "fit"]
    assert (body["total_columns"], body["offset"]) == (4, 0)
    newest, scored = body["rows"][0]["cells"], body["rows"][1]["cells"]
    assert newest == {
        "prepare": {"state": "succeeded", "items": None},
        "extra": {"state": "succeeded", "items": None},
    }
    # a map is one column, its items counted per state, never one column per item
    assert scored["square"] == {"state": "succeeded", "items": {"succeeded": 3}}
    assert set(scored) == {"prepare", "square", "fit"}
    # of one pipeline only
    only = viewer.get("/api/v1/grid", params={"pipeline": "other"}).json()
    assert [r["run"]["run_id"] for r in only["rows"]] == [other.run_id]
    assert only["columns"] == ["prepare", "extra"]


def test_given_runs_in_their_order_a_page_of_columns_at_a_time(
    viewer: TestClient, scored_runs: Any, storage: Any, tmp_path: Path
) -> None:
    other = other_run(storage, tmp_path)
    runs = [("run", scored_runs[0].run_id[:12]), ("run", other.run_id)]
    first = viewer.get("/api/v1/grid", params=[*runs, ("task_limit", "2")]).json()
    assert [r["run"]["run_id"] for r in first["rows"]] == [scored_runs[0].run_id, other.run_id]
    assert first["columns"] == ["prepare", "square"]
    assert first["total_columns"] == 4
    assert set(first["rows"][1]["cells"]) == {"prepare"}  # other has no square
    rest = viewer.get(
        "/api/v1/grid", params=[*runs, ("task_offset", "2"), ("task_limit", "2")]
    ).json()
    assert (rest["columns"], rest["offset"]) == (["fit", "extra"], 2)
    assert rest["rows"][0]["cells"] == {"fit": {"state": "succeeded", "items": None}}
    assert rest["rows"][1]["cells"] == {"extra": {"state": "succeeded", "items": None}}
    beyond = viewer.get("/api/v1/grid", params=[*runs, ("task_offset", "10")]).json()
    assert (beyond["columns"], beyond["total_columns"]) == ([], 4)


def test_bad_grid_requests_say_what_is_wrong(viewer: TestClient, scored_runs: Any) -> None:
    assert viewer.get("/api/v1/grid", params={"task_limit": 0}).status_code == 422
    assert viewer.get("/api/v1/grid", params={"limit": 101}).status_code == 422
    assert viewer.get("/api/v1/grid", params={"task_offset": -1}).status_code == 422
    missing = viewer.get("/api/v1/grid", params={"run": "no-such-run"})
    assert missing.status_code == 404
    assert "no-such-run" in missing.json()["error"]
    empty = viewer.get("/api/v1/grid", params={"pipeline": "nothing"}).json()
    assert (empty["rows"], empty["columns"], empty["total_columns"]) == ([], [], 0)
