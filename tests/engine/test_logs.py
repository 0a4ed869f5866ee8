"""What tasks print and log is captured per attempt, stored, and streamed while they run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from chatty_tasks import chorus, streaming

import legato
from legato.config import load_settings
from legato.store.open import open_run_store


def stored_logs(run_id: str) -> list[tuple[str, str, str]]:
    store = open_run_store(load_settings().state_url)
    try:
        return [(e.key, e.stream, e.text) for e in store.read_logs(run_id)]
    finally:
        store.close()


def test_each_attempt_keeps_its_own_output(executor: str) -> None:
    result = legato.run(chorus, executor=executor)

    assert result.ok
    logs = stored_logs(result.run_id)
    for i in range(3):
        key = f"talk[{i}]"

        def text(stream: str, key: str = key) -> str:  # chunks as they came, joined
            return "".join(t for k, s, t in logs if k == key and s == stream)

        assert text("stdout") == f"out {i}\n"
        assert text("stderr") == f"err {i}\n"
        assert text("log") == f"WARNING chatty: logged {i}\n"


def test_output_outside_tasks_is_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    legato.run(chorus, executor="threads")
    print("after the run")
    assert "after the run" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_logs_stream_while_the_task_runs(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    monkeypatch.setenv("LEGATO_TEST_GATE", str(gate))
    handle = legato.start(streaming, executor=name)
    deadline = time.monotonic() + 15
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = [text for _, _, text in stored_logs(handle.run_id)]
        if any("first line" in t for t in seen):
            break
        time.sleep(0.1)
    assert any("first line" in t for t in seen), "the first line was not stored while running"
    assert not handle.done
    gate.touch()
    result = handle.wait(20)
    assert result.ok
    texts = "".join(text for _, _, text in stored_logs(result.run_id))
    assert "first line" in texts
    assert "second line" in texts
