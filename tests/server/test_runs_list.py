"""``GET /api/v1/runs`` over real runs: filters, sorting by a metric, keyset pages, and
``crashed`` derived from the heartbeat."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from legato.model.runs import RunInfo
from legato.model.states import RunState

RUNS = "/api/v1/runs"


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["run_id"] for r in answer.json()["runs"]]


def test_runs_newest_first_with_what_a_list_shows(viewer: TestClient, scored_runs: Any) -> None:
    body = viewer.get(RUNS).json()
    assert [r["run_id"] for r in body["runs"]] == [r.run_id for r in reversed(scored_runs)]
    first = body["runs"][0]
    assert first["pipeline"] == "scored"
    assert first["state"] == "succeeded"
    assert first["params"] == {"n": 3, "score": 0.6}
    assert first["duration"] >= 0
    assert body["next_cursor"] is None


def test_pages_follow_the_cursor(viewer: TestClient, scored_runs: Any) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        body = viewer.get(RUNS, params=params).json()
        seen += [r["run_id"] for r in body["runs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [r.run_id for r in reversed(scored_runs)]


def test_sorted_by_a_metric_and_filtered_by_its_range(viewer: TestClient, scored_runs: Any) -> None:
    low, high, middle = (r.run_id for r in scored_runs)
    assert _ids(viewer.get(RUNS, params={"sort": "score"})) == [high, middle, low]
    assert _ids(viewer.get(RUNS, params={"sort": "score", "order": "asc"})) == [
        low,
        middle,
        high,
    ]
    ranged = {"metric": "score", "metric_min": 0.5, "metric_max": 0.7}
    assert _ids(viewer.get(RUNS, params=ranged)) == [middle]
    # loss's last step (4) is 0.2 + score
    assert _ids(viewer.get(RUNS, params={"metric": "loss", "metric_max": 0.5})) == [low]


def test_filtered_by_tag_and_parameter(viewer: TestClient, scored_runs: Any) -> None:
    low, high, middle = (r.run_id for r in scored_runs)
    assert _ids(viewer.get(RUNS, params={"tag": "team=vision"})) == [middle, high]
    assert _ids(viewer.get(RUNS, params={"param": "score=0.9"})) == [high]
    assert _ids(viewer.get(RUNS, params={"param": "n=3", "tag": "team=speech"})) == [low]
    assert _ids(viewer.get(RUNS, params={"pipeline": "other"})) == []


def test_created_time_filters(viewer: TestClient, scored_runs: Any, storage: Any) -> None:
    middle = storage.runs.get_run(scored_runs[1].run_id)
    assert _ids(viewer.get(RUNS, params={"created_from": middle.created_at})) == [
        scored_runs[2].run_id,
        middle.run_id,
    ]
    assert _ids(viewer.get(RUNS, params={"created_before": middle.created_at})) == [
        scored_runs[0].run_id
    ]


def test_a_silent_run_shows_crashed_and_is_found_by_that_state(
    viewer: TestClient, scored_runs: Any, storage: Any
) -> None:
    now = time.time()
    storage.runs.create_run(
        RunInfo(
            run_id="silent",
            pipeline="scored",
            state=RunState.RUNNING,
            created_at=now - 600,
            heartbeat_at=now - 500,
            owner="elsewhere:1:x",
        )
    )
    storage.runs.create_run(
        RunInfo(
            run_id="beating",
            pipeline="scored",
            state=RunState.RUNNING,
            created_at=now - 5,
            heartbeat_at=now,
            owner="elsewhere:2:x",
        )
    )
    assert _ids(viewer.get(RUNS, params={"state": "crashed"})) == ["silent"]
    assert _ids(viewer.get(RUNS, params={"state": "running"})) == ["beating"]
    shown = {r["run_id"]: r for r in viewer.get(RUNS).json()["runs"]}
    assert shown["silent"]["state"] == "crashed"
    assert shown["silent"]["duration"] == 100
    assert _ids(viewer.get(RUNS, params={"state": "succeeded"})) == [
        r.run_id for r in reversed(scored_runs)
    ]


def test_malformed_filters_say_what_is_wrong(viewer: TestClient) -> None:
    cases = {
        "state": ("sleeping", "not one of"),
        "tag": ("novalue", "name=value"),
        "cursor": ("!!!", "first page"),
        "metric_min": ("0.5", "need metric"),
    }
    for name, (value, says) in cases.items():
        answer = viewer.get(RUNS, params={name: value})
        assert answer.status_code == 422, (name, answer.text)
        assert says in answer.json()["error"]
    assert viewer.get(RUNS, params={"limit": 0}).status_code == 422


def test_a_cursor_of_another_order_is_refused(viewer: TestClient, scored_runs: Any) -> None:
    cursor = viewer.get(RUNS, params={"limit": 1}).json()["next_cursor"]
    answer = viewer.get(RUNS, params={"limit": 1, "cursor": cursor, "sort": "score"})
    assert answer.status_code == 422
    assert "first page" in answer.json()["error"]
