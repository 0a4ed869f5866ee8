"""What durability costs per task: the run store's append, in microseconds per task.

A run of N tasks is written the way the engine writes it: each turn of the loop appends the
SUCCEEDED events of the tasks started in the turn before and the RUNNING events of the next
``batch`` tasks (two events per task, one transaction per turn). SUCCEEDED events carry an
inline output and a cache key, so each also writes an artifact row and a cache entry
(``--plain`` leaves them out). The plan itself (``RunStarted`` with N tasks) is written first
and timed apart.

    python benchmarks/store_append.py [--tasks 20000] [--batches 1,10,100] [--plain]
        [--repeat 1] [--postgres URL]   (default: $LEGATO_TEST_POSTGRES_URL; skipped if
        unreachable)

With ``--repeat N`` each case runs N times on a fresh store and the best time is shown (the
others are noise from the rest of the machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from legato.model.artifacts import ArtifactRef
from legato.model.events import Event, PlannedTask, RunStarted, TaskTransitioned
from legato.model.runs import RunInfo
from legato.model.states import TaskState
from legato.store.base import RunStore
from legato.store.memory import MemoryRunStore
from legato.store.sql import SqlRunStore


def bench(store: RunStore, tasks: int, batch: int, plain: bool) -> tuple[float, float]:
    """Seconds to write the plan, and to write every task's two events."""
    run_id = uuid.uuid4().hex
    store.create_run(RunInfo(run_id=run_id, pipeline="bench", owner="me"))
    keys = [f"t{i}" for i in range(tasks)]
    seq = 0

    def ev(**kw: object) -> TaskTransitioned:
        nonlocal seq
        seq += 1
        return TaskTransitioned(run_id=run_id, seq=seq, attempt=1, **kw)  # type: ignore[arg-type]

    seq += 1
    start = RunStarted(
        run_id=run_id,
        seq=seq,
        at=time.time(),
        pipeline="bench",
        tasks=tuple(PlannedTask(key=k, name="step") for k in keys),
    )
    t0 = time.perf_counter()
    store.append(run_id, "me", [start])
    plan_s = time.perf_counter() - t0

    def succeeded(key: str) -> TaskTransitioned:
        if plain:
            return ev(key=key, state=TaskState.SUCCEEDED, at=time.time(), ran_for=0.001)
        ref = ArtifactRef(
            checksum=f"xxh3_128:{run_id}{key}",
            size=8,
            serializer="json",
            inline=b"12345678",
            producer=f"{run_id}/{key}#1",
        )
        return ev(
            key=key,
            state=TaskState.SUCCEEDED,
            at=time.time(),
            ran_for=0.001,
            output=ref,
            cache_key=f"ck-{run_id}-{key}",
        )

    # Events are made beforehand: only the store's work is timed.
    appends: list[list[Event]] = []
    previous: list[str] = []
    for group in [*[keys[i : i + batch] for i in range(0, tasks, batch)], []]:
        events: list[Event] = [succeeded(k) for k in previous]
        events += [ev(key=k, state=TaskState.RUNNING, at=time.time()) for k in group]
        appends.append(events)
        previous = group
    t0 = time.perf_counter()
    for events in appends:
        store.append(run_id, "me", events)
    return plan_s, time.perf_counter() - t0


@contextmanager
def sqlite_store() -> Iterator[RunStore]:
    with tempfile.TemporaryDirectory() as folder:
        store = SqlRunStore(f"sqlite:///{Path(folder) / 'legato.db'}")
        try:
            yield store
        finally:
            store.close()


@contextmanager
def postgres_store(url: str) -> Iterator[RunStore]:
    import psycopg
    import sqlalchemy as sa

    schema = f"legato_bench_{uuid.uuid4().hex[:8]}"
    base = sa.make_url(url).set(drivername="postgresql")
    conninfo = base.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    try:
        store = SqlRunStore(
            sa.make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        try:
            yield store
        finally:
            store.close()
    finally:
        with psycopg.connect(conninfo, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def memory_store() -> Iterator[RunStore]:
    yield MemoryRunStore()


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg
        import sqlalchemy as sa

        conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
        psycopg.connect(conninfo, connect_timeout=3).close()
    except Exception as exc:
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})".splitlines()[0])
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--batches", default="1,10,100")
    parser.add_argument("--plain", action="store_true", help="no outputs or cache keys")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--postgres", default=os.environ.get("LEGATO_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    backends: list[tuple[str, Callable[[], contextmanager[RunStore]]]] = [  # type: ignore[type-arg]
        ("memory", memory_store),
        ("sqlite", sqlite_store),
    ]
    if args.postgres and postgres_reachable(args.postgres):
        backends.append(("postgresql", lambda: postgres_store(args.postgres)))
    kind = "plain" if args.plain else "with outputs + cache keys"
    print(f"{args.tasks} tasks, 2 events each, {kind}; µs per task (plan write apart)")
    for name, opener in backends:
        for batch in batches:
            times = []
            for _ in range(max(args.repeat, 1)):
                with opener() as store:
                    times.append(bench(store, args.tasks, batch, args.plain))
            plan_s, write_s = min(times, key=lambda t: t[1])
            per_task = write_s / args.tasks * 1e6
            print(
                f"  {name:<10} batch {batch:>4} tasks/turn: {per_task:8.1f} µs/task"
                f"   (plan of {args.tasks} tasks: {plan_s * 1e3:.0f} ms)"
            )


if __name__ == "__main__":
    main()
