"""The API server under test: real runs recorded in the test's own SQLite store (the home
every test gets), the app made over that store opened read-only as ``legato ui`` opens it,
and clients that hold each role's token (or none, or a wrong one)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import server_pipelines as sp

import legato
from legato.config import load_settings
from legato.engine.storage import open_storage
from legato.server.actions import pipeline_names
from legato.server.app import SecuredApp, create_app
from legato.server.auth import TOKEN_FILE, Role, Tokens, create_tokens
from legato.server.config import ServerConfig
from legato.server.launch import Launcher

with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx is what we use
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "http://127.0.0.1:8080"
PIPELINES = Path(__file__).parents[1] / "resources" / "server_pipelines.py"
CREDENTIALS = ("none", "wrong", *(role.value for role in Role))
"""Who calls: no token, a wrong one, and each role's."""


@pytest.fixture
def tokens(legato_home: Path) -> Tokens:
    return create_tokens(legato_home / TOKEN_FILE)


@pytest.fixture
def storage() -> Any:
    """The profile's stores, as runs write them."""
    return open_storage(load_settings())


def server_config(tokens: Tokens) -> ServerConfig:
    """What ``legato ui`` serves: the profile's run store, opened read-only; cancels written
    to it opened to write, runs started in child processes."""
    settings = load_settings()
    reading = open_storage(settings, read_only=True)
    return ServerConfig(
        store=reading.runs,
        artifacts=reading.artifacts,
        tokens=tokens,
        stale_after=settings.stale_after,
        writer=lambda: open_storage(settings).runs,
        launcher=Launcher(home=settings.home),
        pipelines=pipeline_names([f"{PIPELINES}:scored", f"{PIPELINES}:slow"]),
        settings=settings,
    )


@pytest.fixture
def config(tokens: Tokens) -> ServerConfig:
    return server_config(tokens)


@pytest.fixture
def app(config: ServerConfig) -> SecuredApp:
    return create_app(config)


def headers_for(who: str, tokens: Tokens) -> dict[str, str]:
    """The headers a caller sends: none, a wrong token, or a role's token."""
    if who == "none":
        return {}
    if who == "wrong":
        return {"Authorization": "Bearer " + "x" * 43}
    return {"Authorization": f"Bearer {tokens.token(Role(who))}"}


@pytest.fixture
def client(app: SecuredApp) -> Iterator[TestClient]:
    """A client of the app, addressed as a browser on this machine addresses it."""
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


@pytest.fixture
def viewer(client: TestClient, tokens: Tokens) -> TestClient:
    """The client, with the viewer's token."""
    client.headers.update(headers_for("viewer", tokens))
    return client


@pytest.fixture
def scored_runs(storage: Any) -> list[legato.RunResult[Any]]:
    """Three finished runs of ``scored`` (scores 0.2, 0.9, 0.6: created in that order)."""
    return [
        legato.run(sp.scored, {"score": score}, executor="inline", store=storage)
        for score in (0.2, 0.9, 0.6)
    ]
