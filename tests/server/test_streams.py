"""The live streams over real HTTP (a ``legato ui`` process) while a real run goes on in
another process: a client whose connection drops at 100 random points, reconnecting each
time with ``Last-Event-ID``, ends with exactly the reducer's fold of the stored events; the
runs stream reports a run's state changes."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from legato.config import load_settings
from legato.engine.reducer import fold
from legato.engine.storage import open_storage
from legato.errors import StoreError
from legato.model.states import TaskState
from legato.query.live import live_run, live_task

from .processes import RESOURCES, UiProcess

DROPS = 100


@pytest.fixture
def ui(legato_home: Path) -> Iterator[UiProcess]:
    server = UiProcess(home=legato_home).wait_ready()
    yield server
    server.stop()


def _start_run(home: Path, pause: float, marker: Path | None = None) -> subprocess.Popen[str]:
    """``legato run server_pipelines.py:slow`` in its own process (held live, once its
    ticks are done, until ``marker`` exists)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "legato.cli",
            "run",
            f"{RESOURCES / 'server_pipelines.py'}:slow",
            "-p",
            f"pause={pause}",
            "-p",
            f"marker={marker or ''}",
            "--no-logs",
        ],
        env={**os.environ, "LEGATO_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_id(timeout: float = 30) -> str:
    store = open_storage(load_settings(), read_only=True).runs
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            runs = store.list_runs(limit=1)
            if runs and store.read_events(runs[0].run_id):
                return runs[0].run_id
        except StoreError:  # the run's process is making the database's tables
            pass
        time.sleep(0.02)
    raise AssertionError("the run did not start")


def _messages(buffer: bytes) -> tuple[list[dict[str, str]], bytes]:
    """The complete messages at the start of ``buffer``, and what is left of it."""
    found = []
    while b"\n\n" in buffer:
        raw, buffer = buffer.split(b"\n\n", 1)
        fields: dict[str, str] = {}
        for line in raw.decode().split("\n"):
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields:
            found.append(fields)
    return found, buffer


class Client:
    """What a browser's view of the run holds: the run's fields and every task, patched."""

    def __init__(self) -> None:
        self.run: dict[str, Any] = {}
        self.tasks: dict[str, Any] = {}
        self.last_id: str | None = None
        self.ended = False
        self.seen_states: set[str] = set()

    def take(self, fields: dict[str, str]) -> None:
        if "id" in fields:
            assert self.last_id is None or int(fields["id"]) >= int(self.last_id)
            self.last_id = fields["id"]
        data = json.loads(fields["data"])
        if fields["event"] == "patch":
            assert int(fields["id"]) == data["seq"]
            self.run = data["run"]
            self.tasks.update(data["tasks"])
            self.seen_states.add(self.run["state"])
        elif fields["event"] == "end":
            self.ended = True


def _follow(url: str, token: str, client: Client, drop: tuple[int, float] | None) -> bool:
    """One connection, read until the stream ends; or, with ``drop = (k, wait)``, dropped
    in the message after the next ``k`` (which is then lost, as a message cut anywhere is)
    or after ``wait`` seconds without a byte, whichever comes first. Whether it was
    dropped."""
    headers = {"Authorization": f"Bearer {token}"}
    if client.last_id is not None:
        headers["Last-Event-ID"] = client.last_id
    timeout = httpx.Timeout(30, read=drop[1] if drop is not None else 30)
    buffer = b""
    taken = 0
    try:
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as answer:
            assert answer.status_code == 200, answer.read()
            assert answer.headers["content-type"].startswith("text/event-stream")
            for raw in answer.iter_raw():
                messages, buffer = _messages(buffer + raw)
                for fields in messages:
                    if drop is not None and taken == drop[0]:
                        return True
                    client.take(fields)
                    taken += 1
                if client.ended:
                    return False
    except httpx.ReadTimeout:
        assert drop is not None
        return True
    return False


def test_a_client_dropped_at_100_points_ends_with_the_reducers_fold(
    ui: UiProcess, legato_home: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "let-it-end"
    process = _start_run(legato_home, pause=0.05, marker=marker)
    try:
        run_id = _run_id()
        url = f"{ui.url}/api/v1/runs/{run_id}/stream"
        client = Client()
        rng = random.Random(20261206)
        for _ in range(DROPS):
            drop = (rng.choice((0, 0, 1, 2)), rng.uniform(0.01, 0.1))
            assert _follow(url, ui.token, client, drop), "the run ended while it was held"
        assert process.poll() is None  # every drop was in the live run
        assert client.run["state"] == "running"
        marker.touch()
        while not client.ended:
            _follow(url, ui.token, client, None)
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        marker.touch()
        if process.poll() is None:
            process.kill()
            process.wait()

    events = open_storage(load_settings(), read_only=True).runs.read_events(run_id)
    record = fold(events)
    expected_tasks = {k: dataclasses.asdict(live_task(r)) for k, r in record.tasks.items()}
    assert client.tasks == json.loads(json.dumps(expected_tasks))
    assert client.run == json.loads(json.dumps(dataclasses.asdict(live_run(record))))
    assert client.last_id == str(events[-1].seq)
    assert client.run["state"] == "succeeded"
    assert len(client.tasks) == 31


def test_a_reconnect_after_the_end_gets_only_the_end(ui: UiProcess, legato_home: Path) -> None:
    process = _start_run(legato_home, pause=0.0)
    assert process.wait(timeout=60) == 0
    run_id = _run_id()
    client = Client()
    _follow(f"{ui.url}/api/v1/runs/{run_id}/stream", ui.token, client, None)
    assert client.ended
    assert len(client.tasks) == 31
    again = Client()
    again.last_id = client.last_id
    _follow(f"{ui.url}/api/v1/runs/{run_id}/stream", ui.token, again, None)
    assert again.ended
    assert again.tasks == {}
    assert again.last_id == client.last_id


def test_the_runs_stream_reports_state_changes(ui: UiProcess, legato_home: Path) -> None:
    headers = {"Authorization": f"Bearer {ui.token}"}
    states: list[str] = []
    process: subprocess.Popen[str] | None = None
    buffer = b""
    with httpx.stream("GET", f"{ui.url}/api/v1/runs/stream", headers=headers, timeout=30) as s:
        assert s.status_code == 200
        process = _start_run(legato_home, pause=0.05)
        try:
            for chunk in s.iter_raw():
                messages, buffer = _messages(buffer + chunk)
                for fields in messages:
                    assert fields["event"] == "run"
                    states.append(json.loads(fields["data"])["state"])
                if states and states[-1] == "succeeded":
                    break
        finally:
            if process.wait(timeout=60) != 0:
                raise AssertionError(process.stderr.read() if process.stderr else "")
    assert states[-1] == "succeeded"
    assert "running" in states


def test_a_stream_from_now_sends_no_history(
    ui: UiProcess, legato_home: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "let-it-end"
    process = _start_run(legato_home, pause=0.05, marker=marker)
    try:
        run_id = _run_id()
        store = open_storage(load_settings(), read_only=True).runs
        deadline = time.monotonic() + 60  # some history first: a task has ended
        while not any(
            t.state is TaskState.SUCCEEDED for t in fold(store.read_events(run_id)).tasks.values()
        ):
            assert time.monotonic() < deadline, "no task of the run ended in 60 s"
            time.sleep(0.05)
        before = store.read_events(run_id)[-1].seq
        url = f"{ui.url}/api/v1/runs/{run_id}/stream?from_now=true"
        client = Client()
        assert _follow(url, ui.token, client, (1, 0.5))  # the history: nothing to send
        assert client.last_id is None or int(client.last_id) > before
        marker.touch()
        client.last_id = client.last_id or str(before)  # a reconnect resumes as ever
        while not client.ended:
            _follow(url, ui.token, client, None)
        assert process.wait(timeout=60) == 0
    finally:
        marker.touch()
        if process.poll() is None:
            process.kill()
            process.wait()
    record = fold(store.read_events(run_id))
    assert client.run["state"] == "succeeded"
    assert 0 < len(client.tasks) < len(record.tasks)  # the tasks that changed at the end
    for key, task in client.tasks.items():
        assert task == json.loads(json.dumps(dataclasses.asdict(live_task(record.tasks[key]))))
