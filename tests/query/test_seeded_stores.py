"""The stores the API budgets are measured on (``benchmarks/api_seed.py``) hold what the
read model reads: seeded small here, on the in-memory store and SQLite, and read back
through :mod:`legato.query` as the API answers. A seeding that wrote nothing, or rows the
query layer does not see, fails here instead of making the benchmark time an empty store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from legato.query.compare import compare
from legato.query.detail import run_detail
from legato.query.logs import MAX_CHUNK, log_chunk
from legato.query.runs import RunFilter, list_runs
from legato.server.graphs import GraphCache
from legato.store.base import RunStore
from legato.store.memory import MemoryRunStore
from legato.store.sql import SqlRunStore

sys.path.insert(0, str(Path(__file__).parents[2]))  # the benchmarks package of the root
from benchmarks import api_seed


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    if request.param == "memory":
        yield MemoryRunStore()
        return
    sql = SqlRunStore(f"sqlite:///{tmp_path / 'legato.db'}")
    yield sql
    sql.close()


def test_seeded_runs_are_listed_filtered_and_sorted(store: RunStore) -> None:
    seeded = api_seed.seed_runs(store, 200)
    stale = 30.0
    everything = list_runs(store, RunFilter(limit=500), stale_after=stale)
    assert [r.run_id for r in everything.runs] == list(reversed(seeded.run_ids))
    shown = {r.state for r in everything.runs}
    assert shown == {"succeeded", "failed", "cancelled", "running"}
    train = list_runs(
        store, RunFilter(pipeline="train", state="succeeded", limit=500), stale_after=stale
    )
    assert train.runs
    assert {(r.pipeline, r.state) for r in train.runs} == {("train", "succeeded")}
    by_accuracy = list_runs(store, RunFilter(sort="accuracy", limit=500), stale_after=stale)
    assert len(by_accuracy.runs) == 200  # every run logged it
    first = run_detail(store, by_accuracy.runs[0].run_id, stale_after=stale)
    last = run_detail(store, by_accuracy.runs[-1].run_id, stale_after=stale)
    assert sum(first.task_counts.values()) == sum(last.task_counts.values()) == 3


def test_the_seeded_map_run_is_counted_per_state(store: RunStore) -> None:
    seeded = api_seed.seed_map_run(store, 1000, batch=300)
    (run_id,) = seeded.run_ids
    detail = run_detail(store, run_id, stale_after=30.0)
    assert detail.run.state == "failed"
    assert detail.task_counts == {
        "failed": 10,
        "succeeded": 990 + 2,  # the items, load and notify
        "upstream_failed": 2,
    }
    assert sum(detail.task_counts.values()) == seeded.tasks == 1004
    assert store.item_counts(run_id) == {"square": {"failed": 10, "succeeded": 990}}
    graph = GraphCache().graph(store, run_id)  # its shape from the seeded pipeline's file
    drawn = {n.key: (n.state, n.items) for n in graph.nodes}
    assert drawn == {
        "notify": ("succeeded", None),
        "load": ("succeeded", None),
        "square": ("failed", {"failed": 10, "succeeded": 990}),
        "total": ("upstream_failed", None),
        "report": ("upstream_failed", None),
    }
    assert {(e.source, e.target) for e in graph.edges} == {
        ("load", "square"),
        ("square", "total"),
        ("total", "report"),
    }
    planned = [(r.key, r.mapped) for r in store.planned_tasks(run_id)]
    assert sorted(planned) == [
        ("load", False),
        ("notify", False),
        ("report", False),
        ("square", True),
        ("total", False),
    ]


def test_the_seeded_log_opens_at_its_tail(store: RunStore) -> None:
    seeded = api_seed.seed_log_run(store, 30_000, batch=7000)
    (run_id,) = seeded.run_ids
    tail = log_chunk(store, run_id, task="train")
    assert tail.size == seeded.log_bytes > MAX_CHUNK
    assert tail.end == tail.size
    assert tail.text.endswith("step 29999: loss=0.000033 lr=0.001 ✓\n")
    before = log_chunk(store, run_id, task="train", end=tail.start)
    assert before.end == tail.start
    whole = "".join(e.text for e in store.read_logs(run_id))
    assert whole.encode()[before.start : tail.end].decode() == before.text + tail.text
    assert whole.count("\n") == seeded.lines


def test_the_seeded_sweep_is_compared(store: RunStore) -> None:
    seeded = api_seed.seed_sweep(store, 12, metrics=5, steps=8)
    shown = compare(store, list(seeded.run_ids))
    assert [r["run"] for r in shown.rows] == list(seeded.run_ids)
    metrics = [c for c in shown.columns if c.startswith("metric.")]
    assert metrics == [f"metric.m{m:02d}" for m in range(5)]
    tracked = store.read_tracked(seeded.run_ids[0])
    last = max((t for t in tracked if t.name == "m03"), key=lambda t: t.step)
    assert shown.rows[0]["metric.m03"] == last.value
    lows = [t.value for t in tracked if t.name == "m03"]
    assert shown.rows[0]["metric_min.m03"] == min(lows)
    assert shown.rows[0]["metric_max.m03"] == max(lows)
