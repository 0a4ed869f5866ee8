"""Notes tasks leave for tests: one line per call, appended to the file named by
``LEGATO_TEST_LEDGER`` (set by the ``ledger`` fixture). Appends of one short line are atomic,
so threads and worker processes can all write to it."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["ledger_path", "note", "notes", "wait_for_note", "wait_for_note_in"]


def ledger_path() -> str:
    """The ledger of the test that is running now. A task that outlives its run (an
    abandoned thread) must take it once at its start, so it never writes into the ledger of
    a later test."""
    return os.environ["LEGATO_TEST_LEDGER"]


def note(*parts: object, path: str | None = None) -> None:
    """Append ``parts`` as one space-separated line."""
    line = " ".join(str(p) for p in parts) + "\n"
    fd = os.open(path or ledger_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def notes(path: Path, first: str | None = None) -> list[list[str]]:
    """The lines of the ledger at ``path`` (those whose first word is ``first``), as words."""
    lines = [line.split() for line in path.read_text().splitlines()]
    return [words for words in lines if first is None or words[:1] == [first]]


def wait_for_note(path: Path, first: str, timeout: float = 10.0) -> list[str]:
    """Block until a line whose first word is ``first`` is in the ledger; its words."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = notes(path, first)
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no ledger line {first!r} within {timeout}s")


def wait_for_note_in(path: str, first: str, timeout: float) -> bool:
    """Inside a task: whether a line ``first`` appeared in the ledger within ``timeout``."""
    try:
        wait_for_note(Path(path), first, timeout)
    except AssertionError:
        return False
    return True
