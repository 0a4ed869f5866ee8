"""Real model servers for the serving and deployment tests: ``legato serve`` started as a
process on 127.0.0.1 (uvicorn), talked to over HTTP with httpx, models stored as real
registry artifacts in the test's own state folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import serve_models as sm

from legato.model.registry import ModelVersion
from legato.registry import Registry, open_registry

RESOURCES = Path(__file__).parents[1] / "resources"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``legato serve`` process and its base URL."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return (self.process.stderr.read() if self.process.stderr else "") or ""


def start_server(*args: str, home: Path | None = None, wait: bool = True) -> Server:
    """Start ``legato serve ARGS...`` (with ``--port`` added unless given) and wait until
    ``/health`` answers (200 serving, 503 waiting for its alias to name a version)."""
    env = dict(os.environ)
    if home is not None:
        env["LEGATO_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), env.get("PYTHONPATH", "")])
    argv = list(args)
    port = free_port()
    if "--port" not in argv:
        argv += ["--port", str(port)]
    else:
        port = int(argv[argv.index("--port") + 1])
    host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
    process = subprocess.Popen(
        [sys.executable, "-m", "legato.cli", "serve", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '127.0.0.1') else host}:{port}"
    server = Server(process, url)
    if not wait:
        return server
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"legato serve exited {process.returncode}: {server.stop()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code in (200, 503):
                return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.stop()
    raise AssertionError("legato serve did not answer within 30 s")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server of ``rowsum@production`` (version 1) for the tests that only read: its
    own state folder, a 100,000-byte body limit."""
    home = tmp_path_factory.mktemp("serve-home")
    before = os.environ.get("LEGATO_HOME")
    os.environ["LEGATO_HOME"] = str(home)
    try:
        with open_registry() as registry:
            publish(registry, 1.0)
    finally:
        if before is None:
            del os.environ["LEGATO_HOME"]
        else:
            os.environ["LEGATO_HOME"] = before
    server = start_server("rowsum@production", "--max-body", "100000", home=home)
    yield server
    server.stop()


@pytest.fixture
def registry(legato_home: Path) -> Iterator[Registry]:
    """The registry of the test's own state folder (the one ``legato serve`` opens)."""
    with open_registry() as opened:
        yield opened


def publish(
    registry: Registry, factor: float, *, accuracy: float = 0.95, padding: int = 0
) -> ModelVersion:
    """Register ``RowSum(factor)`` and point ``production`` at it."""
    mv = registry.register(
        "rowsum",
        sm.RowSum(factor, padding),
        signature=sm.SIGNATURE,
        metrics={"accuracy": accuracy},
    )
    registry.set_alias("rowsum", "production", mv.version, reason=f"factor {factor}")
    return mv
