"""Tasks that print and log, for the log-capture tests."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from legato import pipeline, task

log = logging.getLogger("chatty")


@task
def talk(i: int) -> int:
    print(f"out {i}")
    print(f"err {i}", file=sys.stderr)
    log.warning("logged %s", i)
    return i


@pipeline
def chorus() -> list[int]:
    return talk.map([0, 1, 2])


@task
def slow_talker() -> str:
    print("first line", flush=True)
    gate = Path(os.environ["LEGATO_TEST_GATE"])
    deadline = time.monotonic() + 20
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    print("second line")
    return "done"


@pipeline
def streaming() -> str:
    return slow_talker()
