"""How ``legato serve`` starts, as a real process: a port already taken, the ``serve`` extra
missing, an alias that names no version yet (before a first deployment)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from legato.cli import app
from legato.registry import Registry

from .conftest import RESOURCES, free_port, publish, start_server

WITHOUT_SERVE_EXTRA = RESOURCES / "without_serve_extra"


def test_a_port_in_use_is_one_message_naming_it_and_exit_2(registry: Registry) -> None:
    publish(registry, 1.0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        server = start_server("rowsum@production", "--port", str(port), wait=False)
        code = server.process.wait(timeout=60)
        printed = server.process.stdout.read() if server.process.stdout else ""
        complaint = server.stop()

    assert code == 2
    assert printed == ""  # it never claimed to serve
    assert complaint == (
        f"error: cannot serve on 127.0.0.1:{port}: port {port} is in use by another program; "
        "stop it, or choose another port with --port\n"
    )


def test_without_the_serve_extra_it_says_what_to_install_and_exits_2(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(registry, 1.0)
    monkeypatch.setenv("PYTHONPATH", str(WITHOUT_SERVE_EXTRA))
    blocked = subprocess.run(
        [sys.executable, "-c", "import fastapi"], capture_output=True, text=True, check=False
    )
    assert "No module named 'fastapi'" in blocked.stderr  # the blocker works

    server = start_server("rowsum@production", wait=False)
    code = server.process.wait(timeout=60)
    complaint = server.stop()

    assert code == 2
    assert complaint == (
        "error: legato serve needs the 'serve' extra (FastAPI and uvicorn), and uvicorn is "
        "not installed: pip install 'legato[serve]'\n"
    )
    assert "Traceback" not in complaint
    env = {**os.environ, "PYTHONPATH": str(WITHOUT_SERVE_EXTRA)}
    helped = subprocess.run(
        [sys.executable, "-m", "legato.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr


def test_legato_ui_without_the_serve_extra_says_what_to_install_and_exits_2() -> None:
    env = {**os.environ, "PYTHONPATH": str(WITHOUT_SERVE_EXTRA)}
    refused = subprocess.run(
        [sys.executable, "-m", "legato.cli", "ui", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2, refused.stderr
    assert "legato ui needs the 'serve' extra (FastAPI and uvicorn)" in refused.stderr
    assert "pip install 'legato[serve]'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_server_waits_for_an_alias_that_names_no_version_yet(registry: Registry) -> None:
    server = start_server("rowsum@production", "--poll", "0.05")  # nothing registered yet
    try:
        first = server.process.stdout.readline() if server.process.stdout else ""
        health = httpx.get(f"{server.url}/health")
        predict = httpx.post(f"{server.url}/predict", json=[[1.0, 2.0, 3.0]])
        metadata = httpx.get(f"{server.url}/metadata")

        publish(registry, 3.0)  # the alias now names version 1
        deadline = time.monotonic() + 15
        while httpx.get(f"{server.url}/health").status_code != 200:
            assert time.monotonic() < deadline, "the server did not pick the alias up"
            time.sleep(0.05)
        served = httpx.post(f"{server.url}/predict", json=[[1.0, 2.0, 3.0]])
    finally:
        server.stop()

    assert first.startswith(
        "serving rowsum@production (no version yet: waiting for it to name one) on http://"
    )
    assert (health.status_code, health.json()["status"], health.json()["version"]) == (
        503,
        "waiting",
        None,
    )
    assert "no model named 'rowsum'" in health.json()["warning"]
    assert predict.status_code == metadata.status_code == 503
    assert predict.json()["error"].startswith("nothing to serve yet: ")
    assert served.json() == {"predictions": [18.0], "model": "rowsum", "version": 1}


@pytest.mark.parametrize(
    ("ref", "options", "message"),
    [
        ("rowsum:2", [], "version 2"),  # a fixed version is never waited for
        ("rowsum@staging", ["--poll", "0"], "has no alias 'staging'"),  # nor is one not followed
    ],
)
def test_a_version_that_cannot_appear_is_refused_at_start(
    registry: Registry, ref: str, options: list[str], message: str
) -> None:
    publish(registry, 1.0)

    result = CliRunner().invoke(app, ["serve", ref, "--port", str(free_port()), *options])

    assert result.exit_code == 2
    assert message in result.output
