"""A run's tasks a page at a time (``/runs/{run}/tasks``) over a real run of a few thousand
tasks: a page holds what was asked (the run's tasks in the order they appeared, group
records in their places, or a map's items by index), each task with the attempts its own
events tell, and how many tasks the filter matches."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.query.tasks import attempts_of, cache_reasons, task_view

TASKS = "/api/v1/runs/{}/tasks"
N = 3000


def test_a_runs_tasks_a_page_at_a_time(viewer: TestClient, storage: Any) -> None:
    run = legato.run(sp.scored, {"n": N}, executor="inline", store=storage)
    records = storage.runs.task_records(run.run_id)
    assert len(records) == N + 3  # prepare, the map's group record, its items, fit
    every = viewer.get(TASKS.format(run.run_id)).json()
    assert (every["run_id"], every["total"], every["offset"]) == (run.run_id, N + 3, 0)
    order = [r.key for r in records]
    assert sorted(t["key"] for t in every["tasks"]) == sorted(order)
    assert "square" in {t["key"] for t in every["tasks"]}  # the group record, kept

    page = viewer.get(TASKS.format(run.run_id[:14]), params={"offset": 1000, "limit": 50})
    body = page.json()
    shown = [t["key"] for t in body["tasks"]]
    assert (body["total"], len(shown)) == (N + 3, 50)
    assert shown == [t["key"] for t in every["tasks"]][1000:1050]
    log = storage.runs.read_events(run.run_id)  # the whole log, folded
    attempts, said = attempts_of(log), cache_reasons(log)
    by_key = {r.key: r for r in records}
    assert body["tasks"] == [
        json.loads(json.dumps(asdict(task_view(by_key[k], attempts[k], said[k])))) for k in shown
    ]
    assert all(len(t["attempts"]) == 1 for t in body["tasks"])


def test_a_maps_items_and_a_state_a_page_at_a_time(viewer: TestClient, storage: Any) -> None:
    run = legato.run(sp.scored, {"n": N}, executor="inline", store=storage)
    path = TASKS.format(run.run_id)
    tail = viewer.get(path, params={"parent": "square", "offset": N - 10, "limit": 100}).json()
    assert (tail["total"], tail["parent"]) == (N, "square")
    assert [t["key"] for t in tail["tasks"]] == [f"square[{i}]" for i in range(N - 10, N)]
    assert all(t["attempts"][0]["state"] == "succeeded" for t in tail["tasks"])
    done = viewer.get(path, params={"state": "succeeded", "limit": 5}).json()
    assert (done["total"], done["state"], len(done["tasks"])) == (N + 3, "succeeded", 5)
    failed = viewer.get(path, params={"state": "failed"}).json()
    assert (failed["total"], failed["tasks"]) == (0, [])


def test_malformed_task_pages(viewer: TestClient, storage: Any) -> None:
    run = legato.run(sp.scored, {"n": 2}, executor="inline", store=storage)
    path = TASKS.format(run.run_id)
    unknown = viewer.get(path, params={"state": "done"})
    assert unknown.status_code == 422
    assert "no task state 'done': one of pending" in unknown.json()["error"]
    assert viewer.get(path, params={"limit": 0}).status_code == 422
    assert viewer.get(path, params={"limit": 10_001}).status_code == 422
    assert viewer.get(path, params={"offset": -1}).status_code == 422
    assert viewer.get(TASKS.format("ghost")).status_code == 404
