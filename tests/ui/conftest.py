"""The web UI under test: a real ``legato ui`` process over a real store, driven by a real
Chromium (Debian's ``/usr/bin/chromium``, never a downloaded browser) through Playwright.

One server and one browser per test module, shared by its tests (each test gets a fresh
tab); the store is filled by real ``legato run`` processes. A failed test leaves a
screenshot of its tab in ``tmp/artifacts/ui/`` (``LEGATO_TEST_ARTIFACTS`` to change it)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from legato.server.shell import ui_directory
from server.processes import RESOURCES, UiProcess

REPO = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("LEGATO_TEST_ARTIFACTS", REPO / "tmp" / "artifacts")) / "ui"
DIGITS = REPO / "examples" / "digits" / "pipeline.py"
SERVER_PIPELINES = RESOURCES / "server_pipelines.py"
UI_PIPELINES = RESOURCES / "ui_pipelines.py"
PIPELINES = (
    f"{DIGITS}:digits",
    f"{SERVER_PIPELINES}:slow",
    f"{SERVER_PIPELINES}:scored",
    f"{SERVER_PIPELINES}:registered",
    f"{UI_PIPELINES}:broken",
    f"{UI_PIPELINES}:big",
)


def _why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (the dev extra: make test installs it)"
    if not CHROMIUM.exists():
        return (
            f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
            "to run the web UI's browser tests"
        )
    if ui_directory() is None:
        return "the web UI is not built (src/legato/server/static/index.html): make ui"
    return None


def record(home: Path, target: str, *params: str) -> str:
    """Run ``target`` with ``legato run`` in ``home``; the run's id (its last line says it)."""
    env = dict(os.environ, LEGATO_HOME=str(home / ".legato"))
    env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), env.get("PYTHONPATH", "")])
    args = [arg for p in params for arg in ("-p", p)]
    done = subprocess.run(
        [sys.executable, "-m", "legato.cli", "run", target, *args],
        check=False,
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    for word in (done.stdout + done.stderr).split():
        if len(word) == 20 and word.isalnum() and word.startswith("01"):
            return word
    raise AssertionError(f"no run id in the output of legato run {target}: {done.stderr}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-home")


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[UiProcess]:
    args = [arg for target in PIPELINES for arg in ("--pipeline", target)]
    ui = UiProcess(*args, home=home / ".legato").wait_ready()
    yield ui
    ui.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium, headless, with its own profile; the test is skipped, saying why, where
    it cannot start."""
    why = _why_no_browser()
    if why is not None:
        pytest.skip(why)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            viewport={"width": 1440, "height": 900},
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Any, server: UiProcess) -> Iterator[Any]:
    """A fresh tab, signed in with the login URL the server printed; its page errors are
    failures (a broken script fails the test that met it)."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.login)
    yield tab
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    tab.close()
    assert not errors, f"the page raised: {errors}"


def keep_screenshot(tab: Any, name: str) -> Path:
    """A screenshot of ``tab`` in the artifacts folder; also in docs/images when
    ``LEGATO_UI_DOCS`` is set (``make ui-screenshot``)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    tab.screenshot(path=str(path))
    if os.environ.get("LEGATO_UI_DOCS"):
        shutil.copyfile(path, REPO / "docs" / "images" / name)
    return path
