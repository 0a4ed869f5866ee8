"""The schedules' routes over real stores (a SQLite file, and PostgreSQL where one answers):
schedules declared and ticked by a real scheduler pass, read back through the app opened
read-only as ``legato ui`` opens it; pause and resume written through its writer."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from legato.model.schedules import Catchup, Launch, ScheduleDef
from legato.schedules.backfill import create_backfill
from legato.schedules.scheduler import Scheduler
from legato.server.app import create_app
from legato.server.auth import Tokens
from legato.server.config import ServerConfig
from legato.store.memory import MemoryRunStore
from legato.store.sql import SqlRunStore
from schedules.conftest import (  # noqa: F401 (the schedule tests' stores, reused)
    Stores,
    postgres_run_store,
    postgres_schema,
    postgres_server,
    postgres_stores,
    postgres_url,
    sqlite_stores,
)

from .conftest import BASE, headers_for

HOUR = 3600
HOURLY = ScheduleDef(
    name="hourly", target="pipelines.py:load", cron="0 * * * *", catchup=Catchup.LATEST
)
BERLIN = ScheduleDef(
    name="berlin", target="pipelines.py:load", cron="30 2 * * *", tz="Europe/Berlin"
)


def _tick(db: Stores) -> list[Launch]:
    """A day of the hourly schedule missed, then one real scheduler pass (which declares
    berlin): hourly's newest instant launched, the others recorded as missed; and a
    backfill over its last 5 hours."""
    now = int(time.time())
    db.schedules.sync([HOURLY], lambda d, after: now - 24 * HOUR)
    started: list[Launch] = []

    def start(launch: Launch) -> str:
        started.append(launch)
        return "scheduled-runs/hourly.log"

    scheduler = Scheduler(
        store=db.schedules,
        start=start,
        owner="test",
        single=db.schedules.dialect == "sqlite",
        definitions=[HOURLY, BERLIN],
    )
    scheduler.run_pass()
    scheduler.release()
    end = datetime.fromtimestamp(now - now % HOUR, UTC)
    create_backfill(db.schedules, "hourly", end - timedelta(hours=5), end)
    return started


@pytest.fixture(params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, config: ServerConfig
) -> Iterator[tuple[TestClient, Stores]]:
    """The app over a SQLite file's or PostgreSQL's schedules, opened read-only as ``legato
    ui`` opens it; pauses written through the store opened to write."""
    db: Stores = request.getfixturevalue(f"{request.param}_stores")
    reading = SqlRunStore(db.url, read_only=True)
    app = create_app(dataclasses.replace(config, store=reading, writer=lambda: db.runs))
    with TestClient(app, base_url=BASE) as client:
        yield client, db
    reading.close()


def _as(tokens: Tokens, who: str) -> dict[str, str]:
    return {**headers_for(who, tokens), "Origin": BASE}


def test_schedules_show_their_ticks_and_coming_instants(
    served: tuple[TestClient, Stores], tokens: Tokens
) -> None:
    client, db = served
    started = _tick(db)
    viewer = _as(tokens, "viewer")
    listed = client.get("/api/v1/schedules", headers=viewer).json()["schedules"]
    by_name = {s["name"]: s for s in listed}
    assert sorted(by_name) == ["berlin", "hourly"]
    hourly = by_name["hourly"]
    assert hourly["ticks"]["launched"] == len(started) == 1
    assert hourly["ticks"]["missed"] >= 22
    assert hourly["ticks"]["queued"] == 5  # the backfill's, counted with the schedule's
    assert hourly["paused"] is False
    assert hourly["upcoming"] == []

    one = client.get("/api/v1/schedules/berlin", headers=viewer).json()
    assert one["when"] == "'30 2 * * *' in Europe/Berlin"
    assert len(one["upcoming"]) == 10
    first = one["upcoming"][0]
    assert first["utc"].endswith("+00:00")
    assert first["local"][-6:] in ("+01:00", "+02:00")

    (backfill,) = client.get("/api/v1/backfills", headers=viewer).json()["backfills"]
    assert backfill["schedule"] == "hourly"
    assert backfill["ticks"] == {"queued": 5}
    assert client.get("/api/v1/backfills?schedule=berlin", headers=viewer).json() == {
        "backfills": []
    }


def test_ticks_page_through_every_tick_once_and_filter_by_status(
    served: tuple[TestClient, Stores], tokens: Tokens
) -> None:
    client, db = served
    _tick(db)
    viewer = _as(tokens, "viewer")
    everything = db.schedules.ticks("hourly", limit=1000)
    seen: list[tuple[str, str | None]] = []
    before: int | None = None
    for _ in range(100):
        query = f"limit=4&before={before}" if before is not None else "limit=4"
        page = client.get(f"/api/v1/schedules/hourly/ticks?{query}", headers=viewer).json()
        seen += [(t["instant"], t["backfill"]) for t in page["ticks"]]
        instants = [t["instant"] for t in page["ticks"]]
        assert instants == sorted(instants, reverse=True)
        before = page["next_before"]
        if before is None:
            break
    # The backfill's ticks share instants with the schedule's own: no page split them.
    assert len(seen) == len(set(seen)) == len(everything)

    launched = client.get(
        "/api/v1/schedules/hourly/ticks?status=launched&status=queued", headers=viewer
    ).json()["ticks"]
    assert sorted({t["status"] for t in launched}) == ["launched", "queued"]
    assert len(launched) == 6
    (own,) = [t for t in launched if t["status"] == "launched"]
    assert own["backfill"] is None
    assert own["run_id"]
    assert own["log"].endswith("hourly.log")
    bad = client.get("/api/v1/schedules/hourly/ticks?status=done", headers=viewer)
    assert bad.status_code == 422
    assert "status" in bad.json()["error"]


def test_an_operator_pauses_and_resumes_a_schedule(
    served: tuple[TestClient, Stores], tokens: Tokens
) -> None:
    client, db = served
    _tick(db)
    viewer, operator = _as(tokens, "viewer"), _as(tokens, "operator")
    assert client.post("/api/v1/schedules/hourly/pause", headers=viewer).status_code == 403
    paused = client.post("/api/v1/schedules/hourly/pause", headers=operator)
    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    assert db.schedules.get_schedule("hourly").paused
    assert client.get("/api/v1/schedules/hourly", headers=viewer).json()["paused"] is True
    foreign = {**operator, "Origin": "http://evil.example"}
    assert client.post("/api/v1/schedules/hourly/resume", headers=foreign).status_code == 403
    assert db.schedules.get_schedule("hourly").paused
    resumed = client.post("/api/v1/schedules/hourly/resume", headers=operator)
    assert resumed.json()["paused"] is False
    assert not db.schedules.get_schedule("hourly").paused


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/schedules/nightly"),
        ("GET", "/api/v1/schedules/nightly/ticks"),
        ("POST", "/api/v1/schedules/nightly/pause"),
        ("POST", "/api/v1/schedules/nightly/resume"),
    ],
)
def test_an_unknown_schedule_is_a_404_naming_the_known_ones(
    served: tuple[TestClient, Stores], tokens: Tokens, method: str, path: str
) -> None:
    client, db = served
    _tick(db)
    answer = client.request(method, path, headers=_as(tokens, "operator"))
    assert answer.status_code == 404
    message = answer.json()["error"]
    assert "no schedule named 'nightly'" in message
    assert "berlin, hourly" in message


def test_a_store_without_schedules_says_so(config: ServerConfig, tokens: Tokens) -> None:
    memory: Any = MemoryRunStore()
    app = create_app(dataclasses.replace(config, store=memory, writer=lambda: memory))
    operator = _as(tokens, "operator")
    with TestClient(app, base_url=BASE) as client:
        for method, path in [
            ("GET", "/api/v1/schedules"),
            ("GET", "/api/v1/schedules/hourly"),
            ("GET", "/api/v1/schedules/hourly/ticks"),
            ("GET", "/api/v1/backfills"),
            ("POST", "/api/v1/schedules/hourly/pause"),
        ]:
            answer = client.request(method, path, headers=operator)
            assert answer.status_code == 409, (method, path)
            assert "keeps no schedules" in answer.json()["error"]
            assert "state_url" in answer.json()["error"]
