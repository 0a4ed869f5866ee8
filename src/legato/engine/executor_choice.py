"""Which executor a run uses, built: a name (an :class:`~legato.choices.ExecutorName`) or an
instance, the profile's choice and concurrency, and the capacity the run may use
(:mod:`legato.engine.capacities`). The processes and Ray executors are imported only when a
run names them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import assert_never

from legato.choices import ExecutorName
from legato.config import Settings
from legato.engine.capacities import check_given, with_amounts
from legato.errors import DefinitionError
from legato.executors.base import Executor
from legato.executors.inline import InlineExecutor
from legato.executors.threads import ThreadsExecutor
from legato.model.specs import Capacity

__all__ = ["DEFAULT_EXECUTOR", "executor_for", "make_executor"]

DEFAULT_EXECUTOR = "threads"
"""ML steps spend their time in NumPy/SciPy/scikit-learn/PyTorch code that releases the GIL,
so threads run them in parallel with no serialisation and shared memory. Choose
``"processes"`` for GIL-bound Python, hard timeouts and isolation from crashing workers."""


def _build_executor(
    name: ExecutorName,
    max_workers: int | None,
    capacity: Capacity | None = None,
    ray_address: str | None = None,
) -> Executor:
    # A match, not a table: mypy checks it handles every ExecutorName.
    match name:
        case ExecutorName.INLINE:
            return InlineExecutor(capacity)  # one call at a time, always
        case ExecutorName.THREADS:
            return ThreadsExecutor(max_workers=max_workers, capacity=capacity)
        case ExecutorName.PROCESSES:
            return _processes_executor(max_workers, capacity)
        case ExecutorName.RAY:
            return _ray_executor(ray_address, max_workers, capacity)
    assert_never(name)


def _processes_executor(max_workers: int | None, capacity: Capacity | None) -> Executor:
    """The processes executor, imported only when a run names it: with multiprocessing,
    ctypes and the worker template it is ~30M instructions (about 1% of a `legato run` of
    a short pipeline on threads, which never needs it)."""
    from legato.executors.processes import ProcessesExecutor  # noqa: PLC0415 (see above)

    return ProcessesExecutor(max_workers=max_workers, capacity=capacity)


def _ray_executor(address: str | None, cpus: int | None, capacity: Capacity | None) -> Executor:
    """The Ray executor, imported only when a run names it (``legato[ray]``)."""
    try:
        from legato.executors.ray_executor import RayExecutor  # noqa: PLC0415 (optional)
    except ImportError as exc:
        raise DefinitionError(
            f"the ray executor needs Ray, which cannot be imported here ({exc})",
            fix="install it with `pip install 'legato[ray]'`, or choose another executor",
        ) from None
    return RayExecutor(address, num_cpus=cpus, capacity=capacity)


def make_executor(
    executor: str | Executor | None,
    *,
    max_workers: int | None = None,
    ray_address: str | None = None,
) -> Executor:
    """An executor from a name (an :class:`~legato.choices.ExecutorName`; None: the
    default) with ``max_workers`` workers (None: the usable CPU cores; for ``ray``, the CPUs
    of a local cluster), or an instance as given. ``ray_address``: the cluster the ``ray``
    executor joins (None: a local one started for the run)."""
    if isinstance(executor, Executor):
        return executor
    name = executor or DEFAULT_EXECUTOR
    try:
        known = ExecutorName(name)
    except ValueError:
        raise DefinitionError(
            f"unknown executor {name!r}",
            fix=f"use one of {', '.join(ExecutorName)} or pass an Executor instance",
        ) from None
    return _build_executor(known, max_workers, ray_address=ray_address)


def executor_for(
    executor: str | Executor | None,
    settings: Settings,
    capacity: Mapping[str, float | str] | None = None,
) -> Executor:
    """The executor a run uses: ``executor`` if given, else the profile's; a named one gets
    the profile's ``concurrency`` and the machine's capacity with the profile's
    ``capacity`` and then ``capacity`` set over it (:mod:`legato.engine.capacities`)."""
    chosen = executor if executor is not None else settings.executor
    check_given(chosen, capacity or {})
    built = make_executor(
        chosen, max_workers=settings.concurrency, ray_address=settings.ray_address
    )
    amounts = {**settings.capacity, **(capacity or {})}
    if isinstance(chosen, Executor) or not amounts:
        return built
    merged = with_amounts(built.capacity, amounts)
    return _build_executor(
        ExecutorName(built.name), settings.concurrency, merged, settings.ray_address
    )
