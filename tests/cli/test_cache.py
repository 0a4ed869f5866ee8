"""``legato cache clear``: a task name no run knows is a mistake (exit 2, with the nearest
name); forgetting every entry is asked on a terminal and needs ``--yes`` anywhere else."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from legato.cli.exits import OK, USAGE

from .conftest import Invoke, command, target


def _cached(cli: Invoke) -> list[str]:
    """The tasks of ``greet`` that a new run takes from the cache."""
    out = cli("run", target("greet")).stdout
    return [line.split()[2] for line in out.splitlines() if line.split()[1:2] == ["cached"]]


@pytest.fixture
def cached(cli: Invoke) -> None:
    """Both tasks of ``greet`` (hello, shout) have a cache entry."""
    cli("run", target("greet"))
    assert _cached(cli) == ["hello", "shout"]


@pytest.mark.usefixtures("cached")
def test_an_unknown_task_name_is_a_mistake_with_the_nearest_name(
    cli: Invoke, legato_home: Path
) -> None:
    result = cli("cache", "clear", "--task", "helo")
    assert result.exit_code == USAGE
    message = " ".join(result.stderr.split())
    store = legato_home / "legato.db"
    assert f"no task in {store} is named 'helo' (did you mean 'hello'?): nothing was" in message
    assert "tasks of its runs: hello, shout" in message
    assert _cached(cli) == ["hello", "shout"]


@pytest.mark.usefixtures("cached")
def test_a_known_task_without_entries_clears_nothing_and_succeeds(
    cli: Invoke, legato_home: Path
) -> None:
    assert cli("cache", "clear", "--task", "hello").exit_code == OK
    again = cli("cache", "clear", "--task", "hello")
    assert again.exit_code == OK
    store = legato_home / "legato.db"
    assert again.stdout.strip() == f"cleared 0 cache entries of task 'hello' in {store}"


@pytest.mark.usefixtures("cached")
def test_clearing_everything_off_a_terminal_needs_yes(cli: Invoke) -> None:
    refused = cli("cache", "clear")  # standard input is not a terminal here
    assert refused.exit_code == USAGE
    assert "add --yes to confirm" in refused.stderr
    assert _cached(cli) == ["hello", "shout"]
    cleared = cli("cache", "clear", "--yes")
    assert cleared.exit_code == OK
    assert cleared.stdout.startswith("cleared 2 cache entries in ")
    assert _cached(cli) == []


def _answer_on_a_terminal(answer: str, *args: str, timeout: float = 60) -> tuple[int, str]:
    """Run ``legato ARGS`` on a pseudo-terminal, typing ``answer`` once it asks."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(command(*args), stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    screen = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not answered and b"[y/N]" in screen:
            os.write(primary, answer.encode() + b"\n")
            answered = True
        ready, _, _ = select.select([primary], [], [], 0.1)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            screen += data
        elif proc.poll() is not None:
            break
    os.close(primary)
    return proc.wait(timeout=10), screen.decode("utf-8", "replace")


@pytest.mark.usefixtures("cached")
def test_clearing_everything_on_a_terminal_asks_first(cli: Invoke) -> None:
    code, screen = _answer_on_a_terminal("n", "cache", "clear")
    assert code == OK, screen
    assert "Forget every cached task result in " in screen
    assert "nothing was cleared" in screen
    assert _cached(cli) == ["hello", "shout"]
    code, screen = _answer_on_a_terminal("y", "cache", "clear")
    assert code == OK, screen
    assert "cleared 2 cache entries" in screen
    assert _cached(cli) == []
