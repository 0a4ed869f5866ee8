"""A mapped task's items a page at a time (``/runs/{run}/tasks/{task}/items``) over real
runs: each item as the run's stream shows it, by map index, filtered by state, counted."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.query.live import live_task

ITEMS = "/api/v1/runs/{}/tasks/{}/items"


def test_a_maps_items_a_page_at_a_time(viewer: TestClient, storage: Any) -> None:
    run = legato.run(sp.scored, {"n": 5}, executor="inline", store=storage)
    body = viewer.get(ITEMS.format(run.run_id[:14], "square")).json()
    assert (body["run_id"], body["task"], body["total"], body["offset"]) == (
        run.run_id, "square", 5, 0,
    )  # fmt: skip
    every = body["items"]
    assert [(t["key"], t["map_index"], t["state"]) for t in every] == [
        (f"square[{i}]", i, "succeeded") for i in range(5)
    ]
    records = [r for r in storage.runs.task_records(run.run_id) if r.parent == "square"]
    assert every == [json.loads(json.dumps(asdict(live_task(r)))) for r in records]
    page = viewer.get(ITEMS.format(run.run_id, "square"), params={"offset": 3, "limit": 10})
    assert (page.json()["total"], page.json()["items"]) == (5, every[3:])
    done = viewer.get(ITEMS.format(run.run_id, "square"), params={"state": "succeeded"})
    assert done.json()["total"] == 5
    failed = viewer.get(ITEMS.format(run.run_id, "square"), params={"state": "failed"})
    assert (failed.json()["total"], failed.json()["items"]) == (0, [])


def test_malformed_item_requests(viewer: TestClient, scored_runs: Any) -> None:
    path = ITEMS.format(scored_runs[0].run_id, "{}")
    not_a_map = viewer.get(path.format("fit"))
    assert not_a_map.status_code == 422
    assert "no mapped task 'fit'; its maps: square" in not_a_map.json()["error"]
    unknown = viewer.get(path.format("square"), params={"state": "done"})
    assert unknown.status_code == 422
    assert "no task state 'done': one of pending" in unknown.json()["error"]
    assert viewer.get(path.format("square"), params={"limit": 0}).status_code == 422
    assert viewer.get(path.format("square"), params={"offset": -1}).status_code == 422
    assert viewer.get(ITEMS.format("ghost", "square")).status_code == 404
