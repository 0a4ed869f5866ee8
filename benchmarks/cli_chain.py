"""W1 for ``legato run benchmarks/cli_chain.py:chain``: the start-up benchmark times the whole
command (interpreter, imports, store, run, exit). Kept apart from ``workloads.py`` so that the
command imports nothing the chain does not need."""

from __future__ import annotations

import common as c  # type: ignore[import-not-found]  # the peers' task bodies

from legato import pipeline, task


@task
def inc(x: int) -> int:
    return c.inc(x)  # type: ignore[no-any-return]


@pipeline
def chain() -> int:
    """100 tasks, each gets the previous int and returns it + 1."""
    x = 0
    for _ in range(c.N_CHAIN):
        x = inc(x)
    return x  # type: ignore[return-value]
