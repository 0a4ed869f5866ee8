"""Requests generated from the published OpenAPI schema, as an admin on the same origin, to
an app over a store with real runs and models: no answer is a server error (>= 500). The
default run sends a few hundred; the ``exhaustive`` case sends 10,000."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator

import pytest
import server_pipelines as sp
from hypothesis import HealthCheck, given, settings

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.model.schedules import ScheduleDef
from legato.server.app import SecuredApp, create_app
from legato.server.auth import TOKEN_FILE, Tokens, create_tokens
from legato.store.sql.schedules import SqlScheduleStore

from .conftest import BASE, headers_for, server_config
from .routes import status_of
from .schema_requests import Drawn, operations, requests


class Seeded:
    """One app for every example: runs of each kind, a model with versions, a schedule."""

    app: SecuredApp
    tokens: Tokens
    sent: int = 0
    statuses: Counter[int]
    known: dict[str, list[str]]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    home = tmp_path_factory.mktemp("fuzz-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEGATO_HOME", str(home))
        storage = open_storage(load_settings())
        runs = [
            legato.run(sp.scored, {"score": score}, executor="inline", store=storage)
            for score in (0.2, 0.7)
        ]
        runs.append(legato.run(sp.retried, {"lines": 2}, executor="inline", store=storage))
        for accuracy in (0.8, 0.9):
            legato.run(sp.registered, {"accuracy": accuracy}, executor="inline", store=storage)
        nightly = ScheduleDef(name="nightly", target="pipelines.py:scored", cron="0 3 * * *")
        SqlScheduleStore(storage.runs.engine).sync([nightly], lambda d, after: 0)
        found = Seeded()
        found.known = {
            "run_id": [r.run_id for r in runs],
            "run": [r.run_id for r in runs],
            "task": ["prepare", "fit", "square[1]", "wobbly"],
            "name": ["churn", "scored", "nightly"],
            "alias": ["production", "staging"],
            "version": ["1", "2"],
            "attempt": ["1", "2"],
            "sort": ["created", "score", "loss"],
            "state": ["succeeded", "crashed", "running"],
            "status": ["launched", "missed", "skipped"],
        }
        found.statuses = Counter()
        found.tokens = create_tokens(home / TOKEN_FILE)
        # No pipelines to start: a generated request never launches a run.
        found.app = create_app(dataclasses.replace(server_config(found.tokens), pipelines={}))
        yield found


def _send(seeded: Seeded, drawn: Drawn) -> None:
    headers = {**headers_for("admin", seeded.tokens), "Origin": BASE}
    status = status_of(seeded.app, drawn.method, drawn.path, headers, drawn.body)
    seeded.sent += 1
    seeded.statuses[status] += 1
    assert status < 500, f"{drawn.method} {drawn.path} {drawn.body!r}: {status}"


def test_every_operation_is_generated(seeded: Seeded) -> None:
    schema = seeded.app.api.openapi()
    templates = {path for _, path, _ in operations(schema)}
    assert "/api/v1/runs/{run_id}/logs" in templates
    assert "/api/v1/models/{name}/aliases/{alias}/rollback" in templates
    assert "/api/v1/schedules/{name}/ticks" in templates
    assert "/api/v1/schedules/{name}/pause" in templates


def _check(seeded: Seeded, examples: int) -> None:
    strategy = requests(seeded.app.api.openapi(), seeded.known)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(drawn=strategy)
    def check(drawn: Drawn) -> None:
        _send(seeded, drawn)

    before = seeded.sent
    check()
    assert seeded.sent - before >= examples * 0.9
    # The requests reach the routes: most are answered, not refused before them.
    answered = sum(n for status, n in seeded.statuses.items() if status not in (400, 401, 403))
    assert answered > seeded.sent * 0.5, seeded.statuses


def test_generated_requests_get_no_server_error(seeded: Seeded) -> None:
    _check(seeded, 300)


@pytest.mark.exhaustive
@pytest.mark.timeout(1800)
def test_ten_thousand_generated_requests_get_no_server_error(seeded: Seeded) -> None:
    _check(seeded, 10_000)
