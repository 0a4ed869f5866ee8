"""A run's read routes over real runs: detail, tasks with their attempts and cache story,
events after a sequence number, logs in byte windows, metric series."""

from __future__ import annotations

from typing import Any

import pytest
import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.query.compare import MAX_COMPARED

RUN = "/api/v1/runs/{}"


@pytest.fixture
def retried(storage: Any) -> legato.RunResult[Any]:
    return legato.run(sp.retried, {"lines": 3}, executor="inline", store=storage)


def test_a_runs_detail(viewer: TestClient, scored_runs: Any) -> None:
    run = scored_runs[1]
    body = viewer.get(RUN.format(run.run_id[:14])).json()  # a prefix names it
    assert body["run"]["run_id"] == run.run_id
    assert body["run"]["params"] == {"n": 3, "score": 0.9}
    assert body["target"] == "server_pipelines:scored"
    assert body["tags"] == {"team": "vision"}
    assert body["task_counts"] == {"succeeded": 5}  # prepare, 3 squares, fit
    assert body["environment"]["python"]
    assert body["epoch"] == 1


def test_an_unknown_run_is_404_saying_what_to_do(viewer: TestClient) -> None:
    for path in ("", "/tasks", "/events", "/logs", "/metrics", "/stream"):
        answer = viewer.get(RUN.format("nosuchrun") + path)
        assert answer.status_code == 404, path
        assert "no run has id 'nosuchrun'" in answer.json()["error"]


def test_tasks_with_attempts_outputs_and_the_cache(
    viewer: TestClient, storage: Any, scored_runs: Any
) -> None:
    again = legato.run(sp.scored, {"score": 0.6}, executor="inline", store=storage)
    changed = legato.run(sp.scored, {"score": 0.7}, executor="inline", store=storage)
    body = viewer.get(RUN.format(scored_runs[2].run_id) + "/tasks").json()
    tasks = {t["key"]: t for t in body["tasks"]}
    assert list(tasks) == ["prepare", "square", "fit", "square[0]", "square[1]", "square[2]"]
    assert tasks["square"]["mapped"]
    assert tasks["square"]["items"] == 3
    assert tasks["square[1]"]["parent"] == "square"
    fit = tasks["fit"]
    assert [a["state"] for a in fit["attempts"]] == ["succeeded"]
    attempt = fit["attempts"][0]
    assert attempt["started_at"] <= attempt["ended_at"]
    assert attempt["ran_for"] >= 0
    assert fit["output"]["serializer"]
    assert fit["output"]["size"] > 0
    assert fit["output"]["checksum"].startswith("xxh3")
    assert "location" not in fit["output"]
    assert fit["cache"]["key"]
    assert fit["cache"]["parts"]

    hits = {t["key"]: t for t in viewer.get(RUN.format(again.run_id) + "/tasks").json()["tasks"]}
    assert hits["fit"]["cache"]["hit_from"] == scored_runs[2].run_id
    assert hits["fit"]["cache"]["reason"].startswith("cache: hit")
    assert hits["fit"]["attempts"] == [
        {**hits["fit"]["attempts"][0], "started_at": None, "state": "succeeded"}
    ]
    missed = {
        t["key"]: t for t in viewer.get(RUN.format(changed.run_id) + "/tasks").json()["tasks"]
    }
    cache = missed["fit"]["cache"]
    assert cache["reason"] == "cache: miss, parameters changed"
    assert cache["changed"] == ["params"]  # the diff: the parts beside those compared with
    assert cache["previous_parts"]["code"] == cache["parts"]["code"]
    assert cache["previous_parts"]["params"] != cache["parts"]["params"]
    assert hits["fit"]["cache"]["previous_parts"] is None
    assert missed["prepare"]["cache"]["hit_from"] == scored_runs[0].run_id


def test_a_retried_task_shows_each_attempt_and_its_error(viewer: TestClient, retried: Any) -> None:
    (task,) = viewer.get(RUN.format(retried.run_id) + "/tasks").json()["tasks"]
    assert task["attempt"] == 2
    first, second = task["attempts"]
    assert first["state"] == "retry_wait"
    assert first["error"]["type"] == "builtins.ConnectionError"
    assert "first attempt fails" in first["error"]["traceback"]
    assert second["state"] == "succeeded"
    assert second["error"] is None
    assert first["ended_at"] <= second["started_at"]


def test_events_after_a_sequence_number(viewer: TestClient, scored_runs: Any) -> None:
    path = RUN.format(scored_runs[0].run_id) + "/events"
    everything = viewer.get(path).json()
    seqs = [e["seq"] for e in everything["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert everything["events"][0]["type"] == "start"
    assert not everything["more"]
    page = viewer.get(path, params={"after_seq": 3, "limit": 2}).json()
    assert [e["seq"] for e in page["events"]] == [4, 5]
    assert page["more"]
    outputs = [e["output"] for e in everything["events"] if e.get("output")]
    assert outputs
    assert all("inline" not in o and "location" not in o for o in outputs)


def test_logs_tail_first_in_windows_per_attempt(viewer: TestClient, retried: Any) -> None:
    path = RUN.format(retried.run_id) + "/logs"
    whole = viewer.get(path, params={"task": "wobbly", "attempt": 1}).json()
    assert whole["attempt"] == 1
    assert whole["text"].splitlines() == [f"attempt 1 line {i} naïve ✓" for i in range(3)]
    assert whole["start"] == 0
    assert whole["end"] == whole["size"] == len(whole["text"].encode())
    latest = viewer.get(path, params={"task": "wobbly"}).json()
    assert latest["attempt"] == 2
    assert "attempt 2 line 0" in latest["text"]
    # A window of 10 bytes from the end, then the one before it: never a split character.
    size = whole["size"]
    tail = viewer.get(path, params={"task": "wobbly", "attempt": 1, "limit": 10}).json()
    assert tail["end"] == size
    assert size - 10 <= tail["start"] <= size - 7
    assert tail["text"] == "naïve ✓\n"[-len(tail["text"]) :]
    texts = [tail["text"]]
    end = tail["start"]
    while end > 0:
        window = viewer.get(
            path, params={"task": "wobbly", "attempt": 1, "end": end, "limit": 7}
        ).json()
        assert window["end"] == end
        assert window["start"] < end
        texts.append(window["text"])
        end = window["start"]
    assert "".join(reversed(texts)) == whole["text"]
    every = viewer.get(path).json()
    assert every["task"] is None
    assert "attempt 2 line 2" in every["text"]


def test_malformed_log_requests(viewer: TestClient, retried: Any) -> None:
    path = RUN.format(retried.run_id) + "/logs"
    answer = viewer.get(path, params={"task": "nope"})
    assert answer.status_code == 422
    assert "its tasks: wobbly" in answer.json()["error"]
    assert viewer.get(path, params={"attempt": 1}).status_code == 422
    assert viewer.get(path, params={"start": 5, "end": 2}).status_code == 422
    assert viewer.get(path, params={"start": -1}).status_code == 422


def test_metric_series(viewer: TestClient, scored_runs: Any) -> None:
    body = viewer.get(RUN.format(scored_runs[0].run_id) + "/metrics").json()
    series = {(s["task"], s["name"]): s for s in body["series"]}
    assert set(series) == {("fit", "loss"), ("fit", "score")}
    loss = series["fit", "loss"]
    assert loss["count"] == 5
    assert loss["attempt"] == 1
    assert loss["points"] == [[step, pytest.approx(1 / (step + 1) + 0.2)] for step in range(5)]
    only = viewer.get(RUN.format(scored_runs[0].run_id) + "/metrics", params={"name": "score"})
    assert [s["name"] for s in only.json()["series"]] == ["score"]


def test_runs_compared_side_by_side(viewer: TestClient, scored_runs: Any) -> None:
    low, high = scored_runs[0].run_id, scored_runs[1].run_id
    body = viewer.get("/api/v1/compare", params=[("run", low), ("run", high[:12])]).json()
    assert body["columns"][:3] == ["run", "pipeline", "state"]
    first, second = body["rows"]
    assert (first["run"], second["run"]) == (low, high)
    assert first["param.score"] == 0.2
    assert second["metric.score"] == 0.9
    assert first["metric_min.loss"] == pytest.approx(0.4)
    assert first["metric_max.loss"] == pytest.approx(1.2)
    assert viewer.get("/api/v1/compare").status_code == 422
    many = [("run", low)] * (MAX_COMPARED + 1)
    assert viewer.get("/api/v1/compare", params=many).status_code == 422


def test_one_metric_of_compared_runs_in_one_request(viewer: TestClient, scored_runs: Any) -> None:
    ids = [r.run_id for r in scored_runs]
    asked = [("run", ids[0]), ("run", ids[1][:12]), ("run", ids[2])]
    body = viewer.get("/api/v1/compare/series", params=[*asked, ("name", "loss")]).json()
    assert body["name"] == "loss"
    assert [r["run_id"] for r in body["runs"]] == ids  # prefixes resolved, order kept
    for shown in body["runs"]:  # each run's series as its own metrics route sends it
        alone = viewer.get(RUN.format(shown["run_id"]) + "/metrics", params={"name": "loss"})
        assert shown["series"] == alone.json()["series"]
    first = body["runs"][0]["series"]
    assert [(s["task"], s["count"]) for s in first] == [("fit", 5)]
    assert first[0]["points"] == [[s, pytest.approx(1 / (s + 1) + 0.2)] for s in range(5)]
    labelled = viewer.get("/api/v1/compare/series", params=[*asked, ("name", "fit/loss")])
    assert labelled.json()["runs"] == body["runs"]  # a compare column's task/name label
    few = viewer.get("/api/v1/compare/series", params=[*asked, ("name", "loss"), ("points", 4)])
    assert [len(r["series"][0]["points"]) for r in few.json()["runs"]] == [4, 4, 4]
    none = viewer.get("/api/v1/compare/series", params=[*asked, ("name", "nothing")]).json()
    assert [r["series"] for r in none["runs"]] == [[], [], []]


def test_malformed_compared_series_requests(viewer: TestClient, scored_runs: Any) -> None:
    run = ("run", scored_runs[0].run_id)
    assert viewer.get("/api/v1/compare/series", params=[run]).status_code == 422  # no name
    assert viewer.get("/api/v1/compare/series", params={"name": "loss"}).status_code == 422
    many = [run] * (MAX_COMPARED + 1)
    assert viewer.get("/api/v1/compare/series", params=[*many, ("name", "x")]).status_code == 422
    ghost = viewer.get("/api/v1/compare/series", params=[("run", "ghost"), ("name", "loss")])
    assert ghost.status_code == 404
    assert "ghost" in ghost.json()["error"]
