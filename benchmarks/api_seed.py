"""Seeded run stores for the API budgets (``benchmarks/server_budgets.py``).

Every row is written through the run store's own write API, the way the engine's journal
writes it: ``create_run``, then ``append`` of the events of a turn of the loop (with the
values its tasks tracked), and ``append_logs`` of captured output as the log sink joins it
(one entry per printed line). Nothing here writes SQL, so what the API reads is what legato
writes, on SQLite and PostgreSQL alike; only the batching is coarser than a live run's, which
changes no row.

Four shapes, one per budget:

- :func:`seed_runs`: many small runs of a few pipelines, in every ended state (and a few
  still running), each with a run parameter and two metrics;
- :func:`seed_map_run`: one run of a map over ``items`` items between a few plain tasks,
  a small share of the items failed, so the run failed;
- :func:`seed_log_run`: one task that printed ``lines`` lines;
- :func:`seed_sweep`: ``runs`` runs of one task that logged ``metrics`` metrics at
  ``steps`` steps each.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from legato.define.fingerprint import Fingerprinter
from legato.define.loader import load_pipeline
from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import (
    Event,
    MapExpanded,
    PlannedTask,
    RunStarted,
    RunTransitioned,
    TaskTransitioned,
)
from legato.model.ids import new_run_id
from legato.model.runs import LogEntry, RunInfo
from legato.model.states import RunState, TaskState
from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunStore

__all__ = [
    "EPOCH",
    "MAP_TARGET",
    "PIPELINES",
    "Seeded",
    "seed_log_run",
    "seed_map_run",
    "seed_runs",
    "seed_sweep",
]

OWNER = "seed"
MAP_TARGET = f"{Path(__file__).with_name('api_pipeline.py')}:squares"
"""The pipeline of the map run, as ``legato ui`` loads it again to draw its graph."""
EPOCH = 1_765_000_000.0
"""When the seeded history starts (seconds since the epoch)."""
PIPELINES = ("train", "etl", "evaluate", "sweep", "report")
_ENDED = (RunState.SUCCEEDED,) * 16 + (RunState.FAILED,) * 3 + (RunState.CANCELLED,)
_BOOM = ErrorInfo(
    kind=ErrorKind.RAISED,
    type_name="ValueError",
    message="item out of range",
    traceback='Traceback (most recent call last):\n  File "steps.py", line 12\nValueError\n',
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Seeded:
    """What a seeding wrote: the runs' ids (in creation order) and what each holds."""

    run_ids: tuple[str, ...]
    tasks: int = 0
    """Task records of the (last) run, map items counted."""
    lines: int = 0
    """Lines the log run's task printed."""
    log_bytes: int = 0
    """Bytes its output is, as UTF-8."""
    metrics: int = 0
    """Metrics each run logged."""


class _Journal:
    """One run's events, numbered as the engine numbers them, appended a turn at a time."""

    def __init__(self, store: RunStore, run_id: str, at: float) -> None:
        self.store = store
        self.run_id = run_id
        self.at = at
        self.seq = 0

    def started(
        self, pipeline: str, tasks: Sequence[PlannedTask], params: dict[str, object]
    ) -> Event:
        self.seq += 1
        return RunStarted(
            run_id=self.run_id,
            seq=self.seq,
            at=self.at,
            pipeline=pipeline,
            params=params,
            tasks=tuple(tasks),
            executor="threads",
            failure_policy="continue",
        )

    def run(self, state: RunState, reason: str = "") -> Event:
        self.seq += 1
        self.at += 0.001
        return RunTransitioned(
            run_id=self.run_id, seq=self.seq, at=self.at, state=state, reason=reason
        )

    def task(self, key: str, state: TaskState, **fields: object) -> Event:
        self.seq += 1
        self.at += 0.0001
        return TaskTransitioned(
            run_id=self.run_id,
            seq=self.seq,
            at=self.at,
            key=key,
            state=state,
            attempt=1,
            **fields,  # type: ignore[arg-type]
        )

    def expanded(self, key: str, count: int) -> Event:
        self.seq += 1
        return MapExpanded(run_id=self.run_id, seq=self.seq, at=self.at, key=key, count=count)

    def append(self, events: Sequence[Event], tracked: Sequence[Tracked] = ()) -> None:
        self.store.append(self.run_id, OWNER, events, tracked)


def _create(
    store: RunStore,
    pipeline: str,
    at: float,
    params: dict[str, object],
    *,
    target: str = "",
    fingerprint: str = "",
) -> _Journal:
    run_id = new_run_id()
    store.create_run(
        RunInfo(
            run_id=run_id,
            pipeline=pipeline,
            target=target or f"pipelines/{pipeline}.py:{pipeline}",
            fingerprint=fingerprint or f"fp-{pipeline}",
            params=params,
            executor="threads",
            created_at=at,
            heartbeat_at=at,
            owner=OWNER,
            environment={"python": "3.11.7", "platform": "Linux", "host": "bench"},
        )
    )
    return _Journal(store, run_id, at)


def _output(run_id: str, key: str, value: str) -> ArtifactRef:
    data = value.encode()
    return ArtifactRef(
        checksum=f"xxh3_128:{run_id}:{key}",
        size=len(data),
        serializer="json",
        inline=data,
        producer=f"{run_id}/{key}#1",
    )


def _done(journal: _Journal, key: str, value: str) -> Event:
    return journal.task(
        key,
        TaskState.SUCCEEDED,
        ran_for=0.01,
        output=_output(journal.run_id, key, value),
        cache_key=f"ck:{journal.run_id}:{key}",
    )


def _succeeded(journal: _Journal, key: str, value: str) -> list[Event]:
    return [journal.task(key, TaskState.RUNNING), _done(journal, key, value)]


def _metric(journal: _Journal, key: str, name: str, step: int, value: float) -> Tracked:
    return Tracked(
        run_id=journal.run_id,
        key=key,
        attempt=1,
        kind=TrackKind.METRIC,
        name=name,
        value=value,
        step=step,
        at=journal.at,
    )


def seed_runs(store: RunStore, count: int, *, seed: int = 1) -> Seeded:
    """``count`` runs of :data:`PIPELINES`, a minute apart: three tasks each (``load``,
    ``train``, ``report``), parameter ``lr``, metrics ``loss`` and ``accuracy`` at 10 steps;
    mostly succeeded, some failed or cancelled, and one in a hundred still ``running``."""
    rng = random.Random(seed)
    ids = []
    for i in range(count):
        pipeline = PIPELINES[i % len(PIPELINES)]
        lr = round(rng.choice((0.1, 0.03, 0.01, 0.003)), 4)
        journal = _create(store, pipeline, EPOCH + 60.0 * i, {"lr": lr, "model": "mlp"})
        plan = [PlannedTask(key=k, name=k) for k in ("load", "train", "report")]
        events = [journal.started(pipeline, plan, {"lr": lr}), journal.run(RunState.RUNNING)]
        events += _succeeded(journal, "load", "1")
        quality = rng.random()
        tracked = [
            _metric(journal, "train", name, step, value)
            for step in range(10)
            for name, value in (
                ("loss", (1 - quality) / (step + 1)),
                ("accuracy", quality * (step + 1) / 10),
            )
        ]
        state = RunState.RUNNING if i % 100 == 99 else rng.choice(_ENDED)
        if state is RunState.RUNNING:
            events.append(journal.task("train", TaskState.RUNNING))
        elif state is RunState.FAILED:
            events.append(journal.task("train", TaskState.RUNNING))
            events.append(journal.task("train", TaskState.FAILED, error=_BOOM, ran_for=0.5))
            events.append(journal.task("report", TaskState.UPSTREAM_FAILED))
            events.append(journal.run(state, "task train failed"))
        elif state is RunState.CANCELLED:
            events.append(journal.task("train", TaskState.RUNNING))
            events.append(journal.task("train", TaskState.CANCELLED))
            events.append(journal.task("report", TaskState.CANCELLED))
            events.append(journal.run(state, "cancelled"))
        else:
            events += _succeeded(journal, "train", f"{quality:.6f}")
            events += _succeeded(journal, "report", '"ok"')
            events.append(journal.run(state))
        journal.append(events, tracked)
        ids.append(journal.run_id)
    return Seeded(run_ids=tuple(ids), tasks=3)


def seed_map_run(store: RunStore, items: int, *, batch: int = 2000) -> Seeded:
    """One run of :data:`MAP_TARGET` (``load → square (a map over items) → total →
    report``, and ``notify`` beside them), its plan and version as the pipeline's
    definition makes them; one item in a hundred failed, so ``total`` and ``report`` did
    not run and the run failed."""
    graph = load_pipeline(MAP_TARGET).graph
    journal = _create(
        store,
        "squares",
        EPOCH,
        {"n": items},
        target=MAP_TARGET,
        fingerprint=Fingerprinter().graph(graph),
    )
    plan = [
        PlannedTask(
            key=n.key,
            name=n.spec.name,
            mapped=n.mapped is not None,
            items=items if n.mapped is not None else None,
        )
        for n in graph.nodes.values()
    ]
    journal.append(
        [
            journal.started("squares", plan, {"n": items}),
            journal.run(RunState.RUNNING),
            *_succeeded(journal, "load", str(items)),
            *_succeeded(journal, "notify", '"sent"'),
            journal.task("square", TaskState.RUNNING, reason=f"{items} items"),
            journal.expanded("square", items),
        ]
    )
    for first in range(0, items, batch):
        events: list[Event] = []
        for i in range(first, min(first + batch, items)):
            key = f"square[{i}]"
            if i % 100 == 37:
                events.append(journal.task(key, TaskState.RUNNING))
                events.append(journal.task(key, TaskState.FAILED, error=_BOOM, ran_for=0.001))
            else:
                events += _succeeded(journal, key, str(i * i))
        journal.append(events)
    failed = len(range(37, items, 100))
    journal.append(
        [
            journal.task("square", TaskState.FAILED, reason=f"{failed} of {items} items failed"),
            journal.task("total", TaskState.UPSTREAM_FAILED),
            journal.task("report", TaskState.UPSTREAM_FAILED),
            journal.run(RunState.FAILED, "1 task failed"),
        ]
    )
    return Seeded(run_ids=(journal.run_id,), tasks=items + len(plan) - 1)


def _lines(count: int) -> Iterator[str]:
    for i in range(count):
        yield f"epoch {i // 1000} step {i}: loss={1 / (i + 1):.6f} lr=0.001 ✓\n"


def seed_log_run(store: RunStore, lines: int, *, batch: int = 20_000) -> Seeded:
    """One run whose task ``train`` printed ``lines`` lines (one log entry each, as
    ``print`` is captured), in drains of ``batch`` entries."""
    journal = _create(store, "chatty", EPOCH, {})
    plan = [PlannedTask(key="train", name="train")]
    journal.append(
        [
            journal.started("chatty", plan, {}),
            journal.run(RunState.RUNNING),
            journal.task("train", TaskState.RUNNING),
        ]
    )
    size = 0
    entries: list[LogEntry] = []
    for i, text in enumerate(_lines(lines)):
        size += len(text.encode())
        entries.append(
            LogEntry(
                run_id=journal.run_id,
                key="train",
                attempt=1,
                stream="stdout",
                text=text,
                at=EPOCH + i * 0.001,
            )
        )
        if len(entries) == batch:
            store.append_logs(entries)
            entries = []
    store.append_logs(entries)
    journal.append([_done(journal, "train", "0"), journal.run(RunState.SUCCEEDED)])
    return Seeded(run_ids=(journal.run_id,), tasks=1, lines=lines, log_bytes=size)


def seed_sweep(store: RunStore, runs: int, metrics: int, steps: int, *, seed: int = 2) -> Seeded:
    """``runs`` runs of ``sweep`` (parameters ``lr`` and ``depth``), whose task ``train``
    logged ``metrics`` metrics (``m00``…) at ``steps`` steps each."""
    rng = random.Random(seed)
    ids = []
    for i in range(runs):
        params: dict[str, object] = {"lr": rng.choice((0.1, 0.01, 0.001)), "depth": i % 7}
        journal = _create(store, "sweep", EPOCH + 3600.0 * i, params)
        plan = [PlannedTask(key="train", name="train")]
        journal.append(
            [
                journal.started("sweep", plan, params),
                journal.run(RunState.RUNNING),
                journal.task("train", TaskState.RUNNING),
            ]
        )
        tracked = [
            _metric(journal, "train", f"m{m:02d}", step, rng.random())
            for step in range(steps)
            for m in range(metrics)
        ]
        journal.append([], tracked)
        journal.append([_done(journal, "train", "0"), journal.run(RunState.SUCCEEDED)])
        ids.append(journal.run_id)
    return Seeded(run_ids=tuple(ids), tasks=1, metrics=metrics)
