"""``legato ui`` as a real process: uvicorn on a free loopback port, the token file made on
the first start, the printed login URL, cookie and bearer access over real HTTP."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from legato.server.auth import TOKEN_FILE, Role, read_tokens
from legato.server.security import COOKIE

from .processes import RESOURCES, UiProcess


def test_legato_ui_serves_the_api_behind_its_login(legato_home: Path, scored_runs: Any) -> None:
    pipeline = f"{RESOURCES / 'server_pipelines.py'}:scored"
    server = UiProcess("--pipeline", pipeline, home=legato_home).wait_ready()
    try:
        path = legato_home / TOKEN_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        tokens = read_tokens(path)
        assert server.login == f"{server.url}/login?token={tokens.token(Role.ADMIN)}"
        assert httpx.get(f"{server.url}/api/v1/runs").status_code == 401
        with httpx.Client() as browser:
            answer = browser.get(server.login, follow_redirects=False)
            assert answer.status_code == 303
            assert browser.cookies[COOKIE] == tokens.admin
            runs = browser.get(f"{server.url}/api/v1/runs").json()["runs"]
        assert [r["run_id"] for r in runs] == [r.run_id for r in reversed(scored_runs)]
        bearer = {"Authorization": f"Bearer {tokens.viewer}"}
        schema = httpx.get(f"{server.url}/api/v1/openapi.json", headers=bearer).json()
        assert "/api/v1/runs" in schema["paths"]
        assert (
            httpx.get(f"{server.url}/healthz", headers={"Host": "evil.example"}).status_code == 400
        )
    finally:
        stderr = server.stop()
    assert "Traceback" not in stderr


def test_another_address_is_refused_before_auth_is_configured(legato_home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "legato.cli", "ui", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LEGATO_HOME": str(legato_home)},
    )
    assert done.returncode == 2
    assert "before auth is configured" in done.stderr
    assert not (legato_home / TOKEN_FILE).exists()


def test_a_pipeline_target_that_names_no_pipeline_is_refused(legato_home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "legato.cli", "ui", "--pipeline", "train.py"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LEGATO_HOME": str(legato_home)},
    )
    assert done.returncode == 2
    assert "names no pipeline" in done.stderr
