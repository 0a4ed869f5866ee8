"""``RunStore.find_runs``: what every run store answers when runs are searched (filters,
order, keyset pages). Mixed into each backend's conformance class
(``test_run_store_backends.py``), so the in-memory store, SQLite and PostgreSQL give the same
pages."""

from __future__ import annotations

import math
from typing import Any

import pytest

from legato.model.run_query import MAX_PAGE, MetricRange, RunQuery
from legato.model.states import RunState
from legato.model.tracking import Tracked, TrackKind
from legato.store.base import RunStore

from .conformance import Writer, planned, run_info


def _metric(run_id: str, name: str, value: float, **fields: Any) -> Tracked:
    defaults: dict[str, Any] = {"key": "train", "attempt": 1, "step": 0, "at": 3000.0}
    return Tracked(
        run_id=run_id, kind=TrackKind.METRIC, name=name, value=value, **{**defaults, **fields}
    )


def _tag(run_id: str, name: str, value: str) -> Tracked:
    return Tracked(
        run_id=run_id, key="train", attempt=1, kind=TrackKind.TAG, name=name, value=value
    )


def _ids(store: RunStore, **fields: Any) -> list[str]:
    return [r.run_id for r in store.find_runs(RunQuery(**fields)).runs]


def _all_pages(store: RunStore, **fields: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    query = RunQuery(**fields)
    while True:
        page = store.find_runs(query)
        pages.append([r.run_id for r in page.runs])
        if page.next is None:
            return pages
        query = RunQuery(**{**fields, "after": page.next})


class FindRunsContract:
    """Every run store searches runs this way. Subclasses provide an empty ``store``."""

    def created(self, store: RunStore, run_id: str, *tracked: Tracked, **fields: Any) -> None:
        """A run with a started log and ``tracked`` values."""
        store.create_run(run_info(run_id, **fields))
        writer = Writer(store, run_id)
        writer.append(writer.start(*planned("train")))
        if tracked:
            store.append(run_id, "owner-1", [], tracked)

    def test_pages_cover_every_run_once_newest_first(self, store: RunStore) -> None:
        for i in range(7):
            self.created(store, f"r{i}", created_at=1000.0 + i // 2)  # ties on time: by id
        pages = _all_pages(store, limit=3)
        assert pages == [["r6", "r5", "r4"], ["r3", "r2", "r1"], ["r0"]]
        assert _all_pages(store, limit=3, descending=False) == [
            ["r0", "r1", "r2"],
            ["r3", "r4", "r5"],
            ["r6"],
        ]

    def test_a_page_that_ends_exactly_has_no_next(self, store: RunStore) -> None:
        for i in range(4):
            self.created(store, f"r{i}", created_at=1000.0 + i)
        assert _all_pages(store, limit=2) == [["r3", "r2"], ["r1", "r0"]]
        assert store.find_runs(RunQuery(limit=0)).runs == ()

    def test_runs_created_between_pages_do_not_shift_them(self, store: RunStore) -> None:
        for i in range(4):
            self.created(store, f"r{i}", created_at=1000.0 + i)
        first = store.find_runs(RunQuery(limit=2))
        self.created(store, "newer", created_at=2000.0)
        rest = store.find_runs(RunQuery(limit=2, after=first.next))
        assert [r.run_id for r in rest.runs] == ["r1", "r0"]

    def test_a_page_is_at_most_max_page(self, store: RunStore) -> None:
        assert RunQuery(limit=10**6).page_size == MAX_PAGE
        assert RunQuery(limit=-3).page_size == 0

    def test_pipeline_state_heartbeat_and_time_filters(self, store: RunStore) -> None:
        # Created only: an append would stamp the heartbeat with the store's clock.
        store.create_run(run_info("a", pipeline="p1", state=RunState.RUNNING, heartbeat_at=1500.0))
        store.create_run(run_info("b", pipeline="p1", state=RunState.RUNNING, created_at=1001.0))
        store.create_run(run_info("c", pipeline="p2", state=RunState.FAILED, created_at=1002.0))
        assert _ids(store, pipeline="p1") == ["b", "a"]
        assert _ids(store, states=frozenset({RunState.FAILED})) == ["c"]
        assert _ids(store, states=frozenset({RunState.FAILED, RunState.RUNNING})) == [
            "c",
            "b",
            "a",
        ]
        assert _ids(store, silent_since=1200.0) == ["c", "b"]
        assert _ids(store, beating_since=1200.0) == ["a"]
        assert _ids(store, created_from=1001.0) == ["c", "b"]
        assert _ids(store, created_before=1001.0) == ["a"]
        assert _ids(store, created_from=1001.0, created_before=1002.0) == ["b"]

    def test_a_run_parameter_matches_by_its_json_text(self, store: RunStore) -> None:
        self.created(store, "a", params={"lr": 0.01, "opt": "adam", "deep": True, "n": 3})
        self.created(store, "b", params={"lr": 0.1, "opt": "sgd", "deep": False, "n": 30})
        self.created(store, "c", params={"lr": [0.01], "opt": None}, created_at=1001.0)
        assert _ids(store, param=("lr", ("0.01",))) == ["a"]
        assert _ids(store, param=("opt", ('"sgd"',))) == ["b"]
        assert _ids(store, param=("deep", ("true",))) == ["a"]
        assert _ids(store, param=("n", ("3", '"3"'))) == ["a"]
        assert _ids(store, param=("opt", ("null",))) == ["c"]
        assert _ids(store, param=("missing", ("1",))) == []

    def test_a_tag_set_by_a_task_selects_its_run(self, store: RunStore) -> None:
        self.created(store, "a", _tag("a", "team", "vision"))
        self.created(store, "b", _tag("b", "team", "speech"), created_at=1001.0)
        self.created(store, "c", created_at=1002.0)
        assert _ids(store, tag=("team", "vision")) == ["a"]
        assert _ids(store, tag=("team", "nobody")) == []

    def test_a_runs_metric_is_its_latest_attempts_last_step(self, store: RunStore) -> None:
        self.created(
            store,
            "retried",
            _metric("retried", "loss", 9.0, attempt=1, step=5),
            _metric("retried", "loss", 0.5, attempt=2, step=0),
            _metric("retried", "loss", 0.3, attempt=2, step=1),
        )
        self.created(
            store,
            "plain",
            _metric("plain", "loss", 0.2, step=0),
            _metric("plain", "loss", 0.4, step=3),
            created_at=1001.0,
        )
        self.created(store, "nan", _metric("nan", "loss", math.nan), created_at=1002.0)
        self.created(store, "none", created_at=1003.0)
        assert _ids(store, order_by="loss") == ["plain", "retried"]
        assert _ids(store, order_by="loss", descending=False) == ["retried", "plain"]
        assert _ids(store, metric=MetricRange(name="loss", high=0.35)) == ["retried"]
        assert _ids(store, metric=MetricRange(name="loss", low=0.35)) == ["plain"]
        assert _ids(store, metric=MetricRange(name="loss")) == ["plain", "retried"]

    @pytest.mark.parametrize("descending", [True, False])
    def test_pages_sorted_by_a_metric_break_ties_by_id(
        self, store: RunStore, descending: bool
    ) -> None:
        values = [0.5, 0.1, 0.5, 0.3, 0.5, 0.1]
        for i, value in enumerate(values):
            self.created(store, f"r{i}", _metric(f"r{i}", "acc", value), created_at=1000.0 + i)
        ordered = sorted(((v, f"r{i}") for i, v in enumerate(values)), reverse=descending)
        pages = _all_pages(store, order_by="acc", descending=descending, limit=4)
        assert [i for page in pages for i in page] == [i for _, i in ordered]
        assert [len(p) for p in pages] == [4, 2]

    def test_filters_combine(self, store: RunStore) -> None:
        self.created(store, "a", _metric("a", "acc", 0.9), _tag("a", "team", "x"), params={"n": 1})
        self.created(
            store,
            "b",
            _metric("b", "acc", 0.8),
            _tag("b", "team", "x"),
            params={"n": 2},
            created_at=1001.0,
        )
        self.created(store, "c", _metric("c", "acc", 0.95), params={"n": 1}, created_at=1002.0)
        assert _ids(store, tag=("team", "x"), param=("n", ("1",))) == ["a"]
        assert _ids(store, order_by="acc", metric=MetricRange(name="acc", low=0.85)) == [
            "c",
            "a",
        ]

    def test_a_runs_metric_follows_its_steps_logged_again(self, store: RunStore) -> None:
        self.created(store, "a", _metric("a", "loss", 0.5, step=2), created_at=1000.0)
        self.created(
            store,
            "b",
            _metric("b", "loss", 0.4, step=1),
            _metric("b", "loss", 0.1, key="val", step=1),  # the last task key's counts
            created_at=1001.0,
        )
        assert _ids(store, order_by="loss", descending=False) == ["b", "a"]
        store.append("a", "owner-1", [], [_metric("a", "loss", 0.05, step=2)])
        assert _ids(store, order_by="loss", descending=False) == ["a", "b"]
        store.append("b", "owner-1", [], [_metric("b", "loss", 0.9, key="val", step=1)])
        store.append("a", "owner-1", [], [_metric("a", "loss", 0.95, step=1)])  # not the last
        assert _ids(store, order_by="loss", descending=False) == ["a", "b"]
        assert _ids(store, metric=MetricRange(name="loss", low=0.5)) == ["b"]
        store.append("a", "owner-1", [], [_metric("a", "loss", math.nan, step=2)])
        assert _ids(store, order_by="loss") == ["b"]
        store.append("a", "owner-1", [], [_metric("a", "loss", 0.7, attempt=2, step=0)])
        assert _ids(store, order_by="loss") == ["b", "a"]
        assert _ids(store, metric=MetricRange(name="loss", high=0.8)) == ["a"]
