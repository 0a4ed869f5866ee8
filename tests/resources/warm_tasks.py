"""Tasks that tell where they run, for the warm start tests: this module imports neither
numpy nor anything else installed, so whatever of that a worker has, it was given."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from legato import pipeline, task


@task
def surroundings(name: str) -> dict[str, Any]:
    """What the worker running it has: its process, environment, folder, imports."""
    return {
        "pid": os.getpid(),
        "variable": os.environ.get("LEGATO_TEST_WARM"),
        "cwd": os.getcwd(),
        "numpy imported": "numpy" in sys.modules,
        # legato's pipeline loader: neither this module nor a worker imports it
        "loader imported": "legato.define.loader" in sys.modules,
        "path": list(sys.path),
    }


@task
def draw(i: int) -> tuple[int, float]:
    """The first number numpy's global generator gives in this worker (the task holds its
    worker a moment, so two of them run on two workers)."""
    import numpy as np

    time.sleep(0.3)
    return os.getpid(), float(np.random.random())


@pipeline
def look() -> dict[str, Any]:
    return surroundings("look")  # type: ignore[no-any-return]


@pipeline
def two_draws() -> list[tuple[int, float]]:
    return [draw(0), draw(1)]


@task
def native_pools() -> dict[str, Any]:
    """The thread-count variables of the worker running it, and the threads its numpy's
    BLAS library uses (loaded in the template when the orchestrator imported numpy)."""
    import numpy  # noqa: F401  (loaded here by a fresh interpreter, reading the variables)
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return {
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "blas threads": blas,
    }


@pipeline
def pools() -> dict[str, Any]:
    return native_pools()  # type: ignore[no-any-return]
