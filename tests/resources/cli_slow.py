"""A pipeline whose task waits for a gate file: the ``legato`` command tests interrupt and
cancel it while it runs, then resume it (with the gate open it returns at once)."""

from __future__ import annotations

import time
from pathlib import Path

import legato
from legato import pipeline, task


@task
def wait_for_gate(gate: str) -> str:
    ctx = legato.context()
    assert ctx is not None
    Path(f"{gate}.started").write_text(ctx.run_id)
    print("waiting for the gate", flush=True)
    deadline = time.monotonic() + 60
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("the gate is open")
    return "opened"


@task
def after(value: str) -> str:
    return value + "!"


@pipeline
def gated(gate: str) -> str:
    return after(wait_for_gate(gate))
