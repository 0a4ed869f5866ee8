"""How ``legato ui`` serves the web app beside its API (no browser: plain HTTP to a real
process): the app's page for every page path, its files cached by their hashed names,
nothing else of the package reachable, and every API route's authentication as it was."""

from __future__ import annotations

import re

import httpx

from legato.server.shell import ui_directory
from server.processes import UiProcess

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_every_page_path_gets_the_app_and_its_files_are_cached(server: UiProcess) -> None:
    static = ui_directory()
    assert static is not None, "the web UI is built into the package (make ui)"
    index = (static / "index.html").read_text()
    for path in ("/", "/runs", "/runs/01abc?task=train%5B0%5D", "/models/churn", "/nope/x"):
        page = httpx.get(server.url + path, headers=HTML)  # no token: the app holds no data
        assert page.status_code == 200, path
        assert page.text == index
        assert page.headers["cache-control"] == "no-cache"
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    script = re.search(r'src="(/assets/[^"]+\.js)"', index)
    assert script is not None
    asset = httpx.get(server.url + script.group(1))
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_api_keeps_its_authentication(server: UiProcess) -> None:
    # a browser's request for data is the API's: 401 without the session
    assert httpx.get(f"{server.url}/api/v1/runs", headers=HTML).status_code == 401
    assert httpx.get(f"{server.url}/api/v1/nope", headers=HTML).status_code == 401
    # a client that is not a browser gets the API's answers, as before
    assert httpx.get(f"{server.url}/").status_code == 401
    wrong = httpx.get(f"{server.url}/login", params={"token": "x" * 43})
    assert wrong.status_code == 401
    assert "not one of the server's" in wrong.json()["error"]
    bearer = {"Authorization": f"Bearer {server.token}"}
    assert httpx.get(f"{server.url}/", headers=bearer).json()["api"] == "/api/v1"


def test_a_browser_with_a_wrong_token_gets_the_login_page(server: UiProcess) -> None:
    wrong = httpx.get(f"{server.url}/login", params={"token": "x" * 43}, headers=HTML)
    assert wrong.status_code == 401
    assert '<div id="root">' in wrong.text
    assert "set-cookie" not in wrong.headers
    right = httpx.get(f"{server.url}/login", params={"token": server.token}, headers=HTML)
    assert right.status_code == 303
    assert "legato_session=" in right.headers["set-cookie"]


def test_nothing_but_the_built_files_is_served(server: UiProcess) -> None:
    for path in (
        "/assets/../../app.py",
        "/assets/%2e%2e/%2e%2e/app.py",
        "/../auth.py",
        "/static/index.html",
        "/assets/nothing.js",
    ):
        answer = httpx.get(server.url + path)
        assert answer.status_code in (401, 404), path
        assert "def " not in answer.text, path
