"""A real ``legato ui`` process on a free loopback port, for the tests that need a real
HTTP server (uvicorn): the login URL it prints, its base URL, and a clean stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

RESOURCES = Path(__file__).parents[1] / "resources"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UiProcess:
    """``legato ui`` started with ``args`` in the home the test runs in."""

    def __init__(self, *args: str, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, LEGATO_HOME=str(home))
        env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "legato.cli", "ui", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.login = ""

    def wait_ready(self, timeout: float = 30) -> UiProcess:
        """Wait for the login URL and for ``/healthz`` to answer."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"legato ui exited {self.process.wait()}: {self.stop()}")
        self.login = line.strip().rpartition(" ")[2]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"legato ui did not answer within {timeout}s: {self.stop()}")

    @property
    def token(self) -> str:
        """The token of the printed login URL."""
        return self.login.partition("token=")[2]

    def stop(self) -> str:
        """Stop the server (SIGTERM, as a service manager would); what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return (self.process.stderr.read() if self.process.stderr else "") or ""
