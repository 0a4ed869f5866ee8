"""A run's artifacts through the API, addressed by run, task and attempt: previews read
JSON values, ``.npy`` headers and Parquet schemas and first rows, and never load a pickle;
a reference whose location points outside the artifact root is refused unread."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.model.events import TaskTransitioned
from legato.model.states import TaskState

RUN = "/api/v1/runs/{}"


@pytest.fixture
def outputs(storage: Any) -> legato.RunResult[Any]:
    return legato.run(sp.outputs, {"n": 4}, executor="inline", store=storage)


def test_a_runs_artifacts_by_metadata(viewer: TestClient, outputs: Any) -> None:
    body = viewer.get(RUN.format(outputs.run_id) + "/artifacts").json()
    kinds = {o["task"]: o["output"]["serializer"] for o in body["outputs"]}
    assert kinds == {"table": "parquet", "array": "npy", "summary": "json", "opaque": "pickle"}
    assert all(o["attempt"] == 1 for o in body["outputs"])
    (report,) = body["logged"]
    assert (report["task"], report["name"]) == ("summary", "report")
    assert body["next_after_seq"] is None  # one page holds them all


def test_a_runs_outputs_a_page_at_a_time(viewer: TestClient, outputs: Any) -> None:
    path = RUN.format(outputs.run_id) + "/artifacts"
    whole = viewer.get(path).json()["outputs"]
    assert len(whole) > 3
    pages, after = [], 0
    while after is not None:
        page = viewer.get(path, params={"after_seq": after, "limit": 3}).json()
        assert len(page["outputs"]) <= 3
        pages.append(page["outputs"])
        after = page["next_after_seq"]
    assert [o for p in pages for o in p] == whole
    assert len(pages) == -(-len(whole) // 3) + (len(whole) % 3 == 0)  # a full page has a next
    assert viewer.get(path, params={"limit": 0}).status_code == 422
    assert viewer.get(path, params={"after_seq": -1}).status_code == 422


def test_previews_read_values_headers_and_schemas(viewer: TestClient, outputs: Any) -> None:
    def look(task: str) -> dict[str, Any]:
        answer = viewer.get(RUN.format(outputs.run_id) + f"/tasks/{task}/attempts/1/output")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    summary = look("summary")
    assert summary["complete"]
    assert summary["value"] == {"n": 4, "values": [0, 1, 2, 3]}
    array = look("array")
    assert (array["dtype"], array["shape"]) == ("float32", [4, 3])
    table = look("table")
    assert [name for name, _ in table["columns"]] == ["x", "name"]
    assert table["columns"][0][1] == "int64"
    assert "string" in table["columns"][1][1]  # string or large_string, by pandas version
    assert table["rows"][:2] == [{"x": 0, "name": "row 0"}, {"x": 1, "name": "row 1"}]
    opaque = look("opaque")
    assert opaque["serializer"] == "pickle"
    assert opaque["value"] is None
    assert opaque["problem"] is None
    logged = viewer.get(RUN.format(outputs.run_id) + "/tasks/summary/artifacts/report").json()
    assert logged["value"] == {"n": 4, "note": "logged"}


def test_unknown_addresses_are_404(viewer: TestClient, outputs: Any) -> None:
    base = RUN.format(outputs.run_id)
    assert viewer.get(base + "/tasks/summary/attempts/2/output").status_code == 404
    assert viewer.get(base + "/tasks/nope/attempts/1/output").status_code == 404
    assert viewer.get(base + "/tasks/summary/artifacts/nope").status_code == 404


def test_a_forged_location_is_refused_unread(
    viewer: TestClient, storage: Any, legato_home: Path
) -> None:
    canary = legato_home.parent / f"{legato_home.name}-forged.txt"
    canary.write_text('{"secret": "CANARY"}')
    run = legato.run(sp.outputs, {"n": 2}, executor="inline", store=storage)
    events = storage.runs.read_events(run.run_id)
    real = next(
        e.output
        for e in events
        if isinstance(e, TaskTransitioned) and e.key == "table" and e.output is not None
    )
    # Someone who can write the run store points an attempt's output outside the root.
    info = storage.runs.get_run(run.run_id)
    forged = dataclasses.replace(
        real, serializer="json", location=f"../../{canary.name}", inline=None, size=20
    )
    storage.runs.take_over(run.run_id, "forger", lease=0)
    storage.runs.append(
        run.run_id,
        "forger",
        [
            TaskTransitioned(
                run_id=run.run_id,
                seq=events[-1].seq + 1,
                at=info.created_at + 1,
                key="table",
                state=TaskState.SUCCEEDED,
                attempt=2,
                output=forged,
            )
        ],
    )
    answer = viewer.get(RUN.format(run.run_id) + "/tasks/table/attempts/2/output")
    assert answer.status_code == 200
    assert "CANARY" not in answer.text
    assert answer.json()["problem"].startswith("unreadable")
