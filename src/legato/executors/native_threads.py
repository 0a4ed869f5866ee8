"""How many threads the native libraries of a worker process use: its share of the CPUs.

OpenMP, OpenBLAS, MKL, Accelerate and numexpr each size their thread pool to every core of
the machine, per process. A pool of worker processes, one per core, whose tasks call into
them would then run cores x cores threads on cores CPUs, and OpenMP's threads spin while they
wait for each other, the more so when other processes hold the cores: on a busy two-core
machine, the first scikit-learn k-nearest-neighbours prediction of a worker forked after the
import used 0.08 to 0.135 s of CPU with two OpenMP threads and 0.022 s with one. The
processes executor's parallelism is its workers, so each worker's libraries get
``cpus // workers`` threads (at least one), as joblib's process pools, Ray and Dask do.

The threads executor's workers share one process, whose libraries are loaded already when a
run starts: while it runs, :class:`NativeLimits` sets the same share through the libraries'
own calls (threadpoolctl): the BLAS libraries' pools for the process (given back as they
were when the executor closes), OpenMP's for each worker thread (its setting is the calling
thread's). The digits pipeline on two cores, two workers, alternated: 0.62 to 0.73 s with the
libraries' two threads each, 0.26 s with one (plain sequential Python 0.60 to 0.70 s as it
is, 0.30 to 0.32 s with one thread).

The libraries read these variables once, when they load; a worker forked from the template
(``executors.template``) has them loaded already, so the template is started with the same
variables (one template per thread count: :func:`~legato.executors.forked.shared_template`).
A variable the orchestrator's environment sets already is left as it is: the user's choice
wins.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "NATIVE_THREAD_VARIABLES",
    "NativeLimits",
    "native_thread_env",
    "threads_per_worker",
]

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


_NUMERICAL = ("numpy", "scipy", "sklearn", "torch", "numexpr")
"""Modules that load the native libraries whose pools are limited: with none of them
imported there is nothing to limit (and threadpoolctl's scan of the loaded libraries, tens of
milliseconds, is not paid)."""


_scanned: tuple[int, Any] | None = None
"""The last scan of the loaded libraries, with how many modules were imported then."""


def _controller() -> Any:
    """threadpoolctl's view of the loaded libraries (its scan takes 4 to 10 ms), made again
    only once more modules have been imported since."""
    global _scanned
    from threadpoolctl import ThreadpoolController  # noqa: PLC0415 (numerical runs only)

    imported = len(sys.modules)
    if _scanned is None or _scanned[0] != imported:
        _scanned = (imported, ThreadpoolController())
    return _scanned[1]


_lock = threading.Lock()
_holders = 0
"""How many open threads executors hold the libraries' limits (several runs of one server)."""
_blas_limit: Any = None
"""The limit the first of them set: given back when the last lets go, so that executors
closing in any order leave the libraries as they were before the first."""


class NativeLimits:
    """The native thread pools of this process held to ``threads`` each while a threads
    executor runs. :meth:`start` limits the BLAS libraries (their setting is the process's),
    :meth:`in_worker` OpenMP for the calling worker thread (its setting is the thread's), and
    :meth:`restore` gives the BLAS libraries their threads back once no executor holds them
    (while several are open, the first one's share stands)."""

    __slots__ = ("_controller", "_held", "threads")

    def __init__(self, controller: Any, threads: int) -> None:
        self._controller = controller
        self._held = True
        self.threads = threads

    @classmethod
    def start(cls, threads: int, environ: Mapping[str, str] = os.environ) -> NativeLimits | None:
        """Limit the loaded libraries to ``threads``; None where there is nothing to do: no
        numerical library imported, or a variable of :data:`NATIVE_THREAD_VARIABLES` set
        (the user's choice wins)."""
        global _holders, _blas_limit
        if any(name in environ for name in NATIVE_THREAD_VARIABLES):
            return None
        if not any(name in sys.modules for name in _NUMERICAL):
            return None
        controller = _controller()
        with _lock:
            if _holders == 0:
                blas = controller.select(user_api="blas")
                _blas_limit = blas.limit(limits=threads) if blas.lib_controllers else None
            _holders += 1
        return cls(controller, threads)

    def in_worker(self) -> None:
        """Limit OpenMP's pool for the calling thread (a worker, as it starts)."""
        openmp = self._controller.select(user_api="openmp")
        if openmp.lib_controllers:
            openmp.limit(limits=self.threads)

    def restore(self) -> None:
        """Let go of the limits (idempotent); the last holder gives the BLAS libraries the
        threads they had before the first :meth:`start`."""
        global _holders, _blas_limit
        if not self._held:
            return
        self._held = False
        with _lock:
            _holders -= 1
            if _holders == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()
                _blas_limit = None
