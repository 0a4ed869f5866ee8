"""How many threads the native libraries of a worker process use: its share of the CPUs.

OpenMP, OpenBLAS, MKL, Accelerate and numexpr each size their thread pool to every core of
the machine, per process. A pool of worker processes, one per core, whose tasks call into
them would then run cores x cores threads on cores CPUs, and OpenMP's threads spin while they
wait for each other, the more so when other processes hold the cores: on a busy two-core
machine, the first scikit-learn k-nearest-neighbours prediction of a worker forked after the
import used 0.08 to 0.135 s of CPU with two OpenMP threads and 0.022 s with one. The
processes executor's parallelism is its workers, so each worker's libraries get
``cpus // workers`` threads (at least one), as joblib's process pools, Ray and Dask do.

The libraries read these variables once, when they load; a worker forked from the template
(``executors.template``) has them loaded already, so the template is started with the same
variables (one template per thread count: :func:`~legato.executors.forked.shared_template`).
A variable the orchestrator's environment sets already is left as it is: the user's choice
wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["NATIVE_THREAD_VARIABLES", "native_thread_env", "threads_per_worker"]

NATIVE_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""The variables that size the native thread pools numerical libraries start (the list
joblib's process pools set for their workers)."""


def threads_per_worker(cpus: int, workers: int) -> int:
    """Each of ``workers`` processes' share of ``cpus`` cores, at least one thread."""
    return max(1, cpus // max(1, workers))


def native_thread_env(
    threads: int | None, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The variables to add to a worker's environment so that its native libraries use
    ``threads`` threads: those ``environ`` does not set already; none for ``None`` (no
    limit)."""
    if threads is None:
        return {}
    if threads < 1:
        raise ValueError(f"native threads must be at least 1, not {threads}")
    return {name: str(threads) for name in NATIVE_THREAD_VARIABLES if name not in environ}
