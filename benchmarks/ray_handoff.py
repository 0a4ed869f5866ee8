"""The Ray hand-off of ``benchmarks/ray_compare.py``: its marks, taken inside the measured
run without changing legato, and the figures they make (:func:`figures`). What happens
between the producer's return and the consumer's start is stamped (wall time) into one file
by the process that does each step.

In the producer's Ray worker, :func:`install` (the cluster's ``worker_process_setup_hook``,
run by every worker as it starts) wraps legato's functions for the task keyed
:data:`PRODUCER`:

- ``write_began`` / ``write_ended``: ``FsspecArtifactStore.put`` of its output (serialise,
  hash, write, fsync, rename), the durable copy raw Ray does not make;
- ``packed``: ``run_received`` has returned (the output stored);
- ``returned``: the attempt's outcome is pickled, what it printed sent to the driver's
  relay: what is left in the worker is Ray storing the returned objects, the live array
  copied into its object store.

In the consumer's worker it stamps ``began`` as legato's part of the attempt begins, before
its input is read. In the driver, :func:`collecting` stamps ``collected`` when the
executor's collector thread first has an outcome from Ray (the producer's: the consumer
waits for it), ``committed`` when the producer's success is in the run store and ``submit``
when the engine hands the consumer's attempt to the executor. The task bodies stamp
``produced`` and ``consumed`` themselves.

Timing the write in the same run, in the same worker, is the point: on a virtual machine
that hands memory free for 2 s back to its host, the same write timed in another process a
moment later can take several times as long (``benchmarks/case.py``'s ``_settle``), so a
write timed alone says nothing about the one inside the gap.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BUDGET",
    "CONSUMER",
    "ENV",
    "LEGATO_ORDER",
    "PRODUCER",
    "RAW_ORDER",
    "Figures",
    "collecting",
    "figures",
    "install",
    "marks",
    "stamp",
]

ENV = "LEGATO_BENCH_STAMPS"
"""The stamps file, in the environment of the cluster's workers (unset: nothing stamped)."""
PRODUCER = "produce"
"""The key of the task whose output is handed on."""
CONSUMER = "consume"
"""The key of the task it is handed to."""


def stamp(path: str, what: str) -> None:
    """Append ``what`` and the wall time to ``path`` (one short append: the producer's
    worker and the driver write to the same file)."""
    with open(path, "a") as f:
        f.write(f"{what} {time.time()}\n")


def marks(path: Path) -> dict[str, float]:
    """The stamps in ``path``, the first of each name (the consumer's outcome is collected
    too, after the producer's)."""
    found: dict[str, float] = {}
    for line in path.read_text().splitlines():
        what, at = line.split()
        found.setdefault(what, float(at))
    return found


def install() -> None:
    """Wrap ``FsspecArtifactStore.put`` and the Ray worker's ``run_received`` and
    ``dumps_output`` so that the producer's attempt stamps its write, the end of its packing
    and its return (a Ray ``worker_process_setup_hook``, named by module path)."""
    path = os.environ.get(ENV)
    if not path:
        return
    from legato.executors import ray_task
    from legato.store.artifacts import FsspecArtifactStore

    put = FsspecArtifactStore.put
    marker = f"/{PRODUCER}#"  # producer: run_id/key#attempt

    def timed_put(self: FsspecArtifactStore, obj: Any, *, producer: str) -> Any:
        if marker not in producer:
            return put(self, obj, producer=producer)
        stamp(path, "write_began")
        try:
            return put(self, obj, producer=producer)
        finally:
            stamp(path, "write_ended")

    run_received = ray_task.run_received  # type: ignore[attr-defined]

    producing = [False]

    def timed_run_received(data: Any, received: Any, *args: Any, **kwargs: Any) -> Any:
        if received.fields["key"] == CONSUMER:
            stamp(path, "began")
        outcome = run_received(data, received, *args, **kwargs)
        producing[0] = received.fields["key"] == PRODUCER
        if producing[0]:
            stamp(path, "packed")
        return outcome

    dumps_output = ray_task.dumps_output  # type: ignore[attr-defined]

    def timed_dumps_output(obj: Any) -> bytes:
        data = dumps_output(obj)  # the attempt's outcome, its last step in the worker
        if producing[0]:
            producing[0] = False
            stamp(path, "returned")
        return data

    FsspecArtifactStore.put = timed_put  # type: ignore[method-assign]
    ray_task.run_received = timed_run_received  # type: ignore[attr-defined]
    ray_task.dumps_output = timed_dumps_output  # type: ignore[attr-defined]


@contextmanager
def collecting(path: str) -> Iterator[None]:
    """In the driver, stamp ``collected`` whenever the Ray executor's collector has outcomes
    from Ray (:func:`marks` keeps the first: the producer's), ``committed`` when the
    journal's commit of the producer's success has returned and ``submit`` when the engine
    hands the consumer's attempt to the executor."""
    from legato.engine.journal import Journal
    from legato.executors import ray_outcomes
    from legato.executors.ray_executor import RayExecutor
    from legato.model.events import TaskTransitioned
    from legato.model.states import TaskState

    ended, commit, submit = ray_outcomes._ended, Journal._commit, RayExecutor.submit

    def stamped(refs: list[Any], wait: float) -> Any:
        found = ended(refs, wait)
        if found:
            stamp(path, "collected")
        return found

    def stamped_commit(journal: Journal, batch: Any, *args: Any, **kwargs: Any) -> None:
        commit(journal, batch, *args, **kwargs)
        if any(
            isinstance(e, TaskTransitioned) and e.key == PRODUCER and e.state is TaskState.SUCCEEDED
            for e in batch
        ):
            stamp(path, "committed")

    def stamped_submit(executor: RayExecutor, call: Any) -> None:
        if call.key == CONSUMER:  # before: Ray may start the attempt before submit returns
            stamp(path, "submit")
        submit(executor, call)

    ray_outcomes._ended = stamped
    RayExecutor.submit = stamped_submit  # type: ignore[method-assign,assignment]
    Journal._commit = stamped_commit  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        ray_outcomes._ended = ended
        Journal._commit = commit  # type: ignore[method-assign]
        RayExecutor.submit = submit  # type: ignore[method-assign]


BUDGET = 1.2
"""legato's gap less its own artifact write, at most this many times raw Ray's gap."""
RAW_ORDER = ("produced", "consumed")
"""The marks of one raw Ray run; ``collected`` too where the driver, waiting for the
producer's object as the consumer does, saw it stored (it races with ``consumed``)."""
LEGATO_ORDER = (
    "produced",
    "write_began",
    "write_ended",
    "packed",
    "returned",
    "collected",
    "committed",
    "submit",
    "began",
    "consumed",
)
"""The marks of one legato run, in the order they must have been made (the consumer is
submitted only once the producer's success is committed)."""


@dataclass(frozen=True, slots=True)
class Figures:
    """The hand-off's figures, each the median over the runs of that run's own figure
    (seconds); all None with ``problem`` saying why when a run's marks are missing or out
    of order."""

    raw_gap: float | None = None
    legato_gap: float | None = None
    write: float | None = None
    """legato's artifact write, timed in the run."""
    start: float | None = None
    """legato's gap less its own write: what the budget bounds."""
    rest: float | None = None
    """From the write's end until the attempt returned (its outcome pickled, what it
    printed sent)."""
    stored: float | None = None
    """From then until the driver had the producer's outcome: Ray storing the returned
    array, the outcome's way back."""
    raw_stored: float | None = None
    """raw Ray's like figure: from the producer's return until its driver saw the array
    stored (None where a run has no ``collected``)."""
    committed: float | None = None
    """From then until the producer's success was committed to the run store."""
    submitted: float | None = None
    """From then until the engine handed the consumer's attempt to the executor."""
    leased: float | None = None
    """From then until that attempt began in its worker: the executor's submit, Ray
    placing the attempt and starting it."""
    loaded: float | None = None
    """From then until its body started: its input read from Ray's object store."""
    problem: str = ""

    @property
    def ratio(self) -> float | None:
        if self.start is None or not self.raw_gap:
            return None
        return self.start / self.raw_gap

    @property
    def met(self) -> bool:
        return not self.problem and self.ratio is not None and self.ratio <= BUDGET


def _out_of_order(run: Mapping[str, float], order: Sequence[str]) -> str:
    missing = [name for name in order if name not in run]
    if missing:
        return f"no {', '.join(missing)}"
    later = [(a, b) for a, b in itertools.pairwise(order) if run[b] < run[a]]
    return ", ".join(f"{b} before {a}" for a, b in later)


def figures(raw: Sequence[Mapping[str, float]], legato: Sequence[Mapping[str, float]]) -> Figures:
    """The figures of ``raw`` and ``legato`` runs' marks. Each run's write is subtracted from
    that run's gap, then the median taken: the write varies from run to run as the gap
    does. A run whose marks are missing or out of order gives no figure at all."""
    for side, runs, order in (("raw Ray", raw, RAW_ORDER), ("legato", legato, LEGATO_ORDER)):
        if not runs:
            return Figures(problem=f"no {side} run")
        for i, run in enumerate(runs, 1):
            wrong = _out_of_order(run, order)
            if wrong:
                return Figures(problem=f"{side}'s run {i}: {wrong}")

    def median(a: str, b: str, runs: Sequence[Mapping[str, float]] = legato) -> float:
        return statistics.median(run[b] - run[a] for run in runs)

    return Figures(
        raw_gap=median("produced", "consumed", raw),
        raw_stored=(
            median("produced", "collected", raw) if all("collected" in r for r in raw) else None
        ),
        legato_gap=median("produced", "consumed"),
        write=median("write_began", "write_ended"),
        start=statistics.median(
            (r["consumed"] - r["produced"]) - (r["write_ended"] - r["write_began"]) for r in legato
        ),
        rest=median("write_ended", "returned"),
        stored=median("returned", "collected"),
        committed=median("collected", "committed"),
        submitted=median("committed", "submit"),
        leased=median("submit", "began"),
        loaded=median("began", "consumed"),
    )
