"""Secret values are masked in every answer of the API, streams included: a value recorded
before it was known as a secret (a run parameter, what a task printed) reads ``***`` once
the server's process knows it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import server_pipelines as sp
from starlette.testclient import TestClient

import legato
from legato.query.live import RunFollower
from legato.secret_values import register
from legato.server.routes.live import message


def test_a_secret_recorded_before_it_was_known_is_masked_everywhere(
    viewer: TestClient, storage: Any, tmp_path: Path
) -> None:
    value = f"tok-{uuid.uuid4().hex}"
    marker = tmp_path / value  # a parameter, printed, and in the task's error
    run = legato.run(sp.once, {"marker": str(marker)}, executor="inline", store=storage)
    register(value, "secret 'api' (environment variable API)")
    base = f"/api/v1/runs/{run.run_id}"
    for path in ("/api/v1/runs", base, base + "/tasks", base + "/events", base + "/logs"):
        answer = viewer.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert value not in answer.text, path
        assert "***" in answer.text, path
    follower = RunFollower(run.run_id)
    patch = follower.patch(storage.runs.read_events(run.run_id))
    assert patch is not None
    sent = message(patch, event="patch", seq=patch.seq).decode()
    assert value not in sent
    assert "***" in sent
