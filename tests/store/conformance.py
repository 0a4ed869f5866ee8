"""The run-store conformance suite: what every ``RunStore`` must do, whatever keeps the data.

A backend's test module subclasses :class:`RunStoreContract` and provides a ``store`` fixture
(an empty store); every test here then runs against it. The suite runs on the in-memory
store, SQLite and PostgreSQL (``test_run_store_backends.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from legato.errors import (
    FencedError,
    RunBusyError,
    RunExistsError,
    StoreError,
    UnknownRunError,
)
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
from legato.model.records import TaskRecord
from legato.model.runs import LogEntry, RunInfo
from legato.model.states import RunState, TaskState
from legato.store.base import RunStore
from legato.store.sql.writes import ITEM_ROWS_AT_ONCE

S = TaskState

ERROR = ErrorInfo(
    kind=ErrorKind.RAISED,
    type_name="builtins.ValueError",
    message="bad value ✓ 'quoted' \"double\"",
    traceback='Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n',
    mro=("builtins.ValueError", "builtins.Exception", "builtins.BaseException"),
)
TIMEOUT = ErrorInfo.of(ErrorKind.TIMEOUT, "ran past 5 s")


def inline_ref(tag: str, data: bytes = b"\x00\x01\xfe\xffbytes") -> ArtifactRef:
    """A small output kept in the run store."""
    return ArtifactRef(
        checksum=f"xxh3_128:{tag}",
        size=len(data),
        serializer="pickle",
        inline=data,
        producer=f"run/{tag}#1",
        meta={"python": "3.11", "protocol": "5"},
    )


def file_ref(tag: str) -> ArtifactRef:
    """A large output kept in the artifact store."""
    return ArtifactRef(
        checksum=f"xxh3_128:{tag}",
        size=10_000_000,
        serializer="npy",
        location=f"objects/{tag[:2]}/xxh3_128:{tag}.npy",
        producer=f"run/{tag}#2",
        meta={"dtype": "float32", "shape": "(1000, 2500)"},
    )


PARAMS: dict[str, Any] = {
    "path": Path("/data/in put.csv"),
    "when": dt.datetime(2024, 5, 1, 12, 30, 15, 250, tzinfo=dt.UTC),
    "day": dt.date(2024, 2, 29),
    "at": dt.time(23, 59, 1),
    "pair": (1, "a", (2.5, None)),
    "items": [1, 2.5, None, True, "x"],
    "nested": {"paths": [Path("a/b"), Path("c")], "limit": float("inf")},
    "state": TaskState.RUNNING,
    "text": "naïve ✓ \"quotes\" and 'apostrophes'",
}


def run_info(run_id: str, **fields: Any) -> RunInfo:
    """A run as an orchestrator creates it, owned by ``owner-1``."""
    defaults: dict[str, Any] = {
        "pipeline": "train",
        "target": "pipelines.train:train",
        "fingerprint": "fp-1",
        "state": RunState.PENDING,
        "params": {"epochs": 3},
        "executor": "threads",
        "created_at": 1000.0,
        "heartbeat_at": 1000.0,
        "owner": "owner-1",
        "environment": {"python": "3.11.7", "packages": {"numpy": "1.26.4"}, "dirty": False},
    }
    return RunInfo(run_id=run_id, **{**defaults, **fields})


class Writer:
    """Numbers a run's events as the engine does and appends them."""

    def __init__(self, store: RunStore, run_id: str, owner: str = "owner-1") -> None:
        self.store = store
        self.run_id = run_id
        self.owner = owner
        self.seq = 0

    def start(self, *tasks: PlannedTask, at: float = 1000.0, **fields: Any) -> RunStarted:
        """The run's first event, with its plan."""
        return self._next(RunStarted, at=at, pipeline="train", tasks=tasks, **fields)

    def task(self, key: str, state: TaskState, attempt: int = 1, **fields: Any) -> Event:
        """A task transition (``at`` defaults to 2000 + its seq)."""
        return self._next(TaskTransitioned, key=key, state=state, attempt=attempt, **fields)

    def expand(self, key: str, count: int, **fields: Any) -> Event:
        """A mapped task's items becoming known."""
        return self._next(MapExpanded, key=key, count=count, **fields)

    def run(self, state: RunState, reason: str = "", **fields: Any) -> Event:
        """The run's own transition."""
        return self._next(RunTransitioned, state=state, reason=reason, **fields)

    def _next(self, cls: type[Any], **fields: Any) -> Any:
        self.seq += 1
        fields.setdefault("at", 2000.0 + self.seq)
        return cls(run_id=self.run_id, seq=self.seq, **fields)

    def append(self, *events: Event) -> None:
        """Append ``events`` as one turn."""
        self.store.append(self.run_id, self.owner, list(events))


def every_kind_of_event(w: Writer) -> list[Event]:
    """Events of every kind a run writes, with every field set somewhere: a run started with
    a plan and a failure policy, its transitions (a reason that is not ASCII), a retry, a
    success with an inline output and cache parts, a map's expansion, an item's hit and
    another's time-out, a skip, the run's failure."""
    return [
        w.start(
            PlannedTask(key="load", name="load_fn"),
            PlannedTask(key="fit", name="fit_fn", mapped=True),
            params=PARAMS,
            executor="processes",
            failure_policy="continue",
            at=1000.25,
        ),
        w.run(RunState.RUNNING, reason="started ✓"),
        w.task("load", S.RUNNING),
        w.task("load", S.RETRY_WAIT, error=ERROR, retry_at=1234.5, ran_for=0.125),
        w.task("load", S.READY, attempt=2, reason="retry 2 of 3"),
        w.task("load", S.RUNNING, attempt=2),
        w.task(
            "load",
            S.SUCCEEDED,
            attempt=2,
            ran_for=1.5,
            output=inline_ref("aa11"),
            cache_key="ck-load",
            cache_parts={"code": "c0ffee", "inputs": "d1", "params": "p9", "version": "1"},
        ),
        w.task("fit", S.RUNNING),
        w.expand("fit", 2),
        w.task("fit[0]", S.SUCCEEDED, output=file_ref("bb22"), cache_hit="older-run"),
        w.task("fit[1]", S.TIMED_OUT, error=TIMEOUT, ran_for=5.0),
        w.task("fit", S.SKIPPED, attempt=2, reason="branch not taken"),
        w.run(RunState.FAILED, reason="fit[1] timed out"),
    ]


def planned(*keys: str) -> tuple[PlannedTask, ...]:
    """Plain planned tasks named after their keys."""
    return tuple(PlannedTask(key=k, name=f"{k}_fn") for k in keys)


def records(store: RunStore, run_id: str) -> dict[str, TaskRecord]:
    """The projection by key."""
    return {r.key: r for r in store.task_records(run_id)}


class RunStoreContract:
    """Every run store passes these. Subclasses provide an empty ``store`` fixture."""

    @pytest.fixture
    def store(self) -> RunStore:
        raise NotImplementedError("a backend's test class provides the store fixture")

    def started(self, store: RunStore, run_id: str = "run-1", *keys: str) -> Writer:
        """A created run whose RunStarted (planning ``keys``) is stored."""
        store.create_run(run_info(run_id))
        writer = Writer(store, run_id)
        writer.append(writer.start(*planned(*keys)), writer.run(RunState.RUNNING))
        return writer

    # -- runs ------------------------------------------------------------------------------

    def test_a_created_run_reads_back_with_every_field(self, store: RunStore) -> None:
        info = run_info(
            "01hz-every-field",
            params=PARAMS,
            ended_at=None,
            epoch=3,
            reason="because",
            state=RunState.RUNNING,
        )
        store.create_run(info)
        assert store.get_run("01hz-every-field") == info
        assert store.list_runs() == [info]

    def test_a_run_id_can_be_created_once(self, store: RunStore) -> None:
        store.create_run(run_info("dup"))
        with pytest.raises(RunExistsError, match="dup"):
            store.create_run(run_info("dup", pipeline="other"))
        assert store.get_run("dup").pipeline == "train"

    def test_a_run_that_cannot_be_stored_is_refused(self, store: RunStore) -> None:
        with pytest.raises(StoreError, match=r"'bad'.*object"):
            store.create_run(run_info("bad", params={"x": object()}))
        with pytest.raises(UnknownRunError):
            store.get_run("bad")

    def test_runs_of_several_pipelines_and_versions(self, store: RunStore) -> None:
        store.create_run(run_info("a", pipeline="p1", fingerprint="v1"))
        store.create_run(run_info("b", pipeline="p1", fingerprint="v2", created_at=1001.0))
        store.create_run(run_info("c", pipeline="p2", fingerprint="v1", created_at=1002.0))
        assert [r.run_id for r in store.list_runs(pipeline="p1")] == ["b", "a"]

    def test_a_unique_prefix_finds_the_run(self, store: RunStore) -> None:
        store.create_run(run_info("01hzabc0001"))
        store.create_run(run_info("01hzxyz0002"))
        assert store.get_run("01hza").run_id == "01hzabc0001"
        assert store.get_run("01hzxyz0002").run_id == "01hzxyz0002"

    def test_an_ambiguous_prefix_says_so(self, store: RunStore) -> None:
        store.create_run(run_info("01hzabc0001"))
        store.create_run(run_info("01hzabd0002"))
        with pytest.raises(UnknownRunError, match=r"2 runs .*'01hzab'.*more characters"):
            store.get_run("01hzab")

    def test_an_unknown_run_says_what_to_do(self, store: RunStore) -> None:
        store.create_run(run_info("01hzabc0001"))
        with pytest.raises(UnknownRunError, match=r"no run has id '01hzq'.*legato runs list"):
            store.get_run("01hzq")
        with pytest.raises(UnknownRunError):
            store.get_run("")

    def test_prefixes_match_case(self, store: RunStore) -> None:
        store.create_run(run_info("01hzabc0001"))
        with pytest.raises(UnknownRunError):
            store.get_run("01HZ")

    def test_prefix_wildcards_are_literal(self, store: RunStore) -> None:
        store.create_run(run_info("ab_cd"))
        store.create_run(run_info("abxcd"))
        assert store.get_run("ab_").run_id == "ab_cd"
        with pytest.raises(UnknownRunError):
            store.get_run("a%")

    def test_runs_list_newest_first_with_filters(self, store: RunStore) -> None:
        for i, (pipeline, state) in enumerate(
            [
                ("p1", RunState.SUCCEEDED),
                ("p2", RunState.FAILED),
                ("p1", RunState.FAILED),
                ("p1", RunState.RUNNING),
            ]
        ):
            store.create_run(
                run_info(f"r{i}", pipeline=pipeline, state=state, created_at=1000.0 + i)
            )
        assert [r.run_id for r in store.list_runs()] == ["r3", "r2", "r1", "r0"]
        assert [r.run_id for r in store.list_runs(limit=2)] == ["r3", "r2"]
        assert [r.run_id for r in store.list_runs(pipeline="p1")] == ["r3", "r2", "r0"]
        assert [r.run_id for r in store.list_runs(state=RunState.FAILED)] == ["r2", "r1"]
        assert [r.run_id for r in store.list_runs(pipeline="p1", state=RunState.FAILED)] == ["r2"]
        assert store.list_runs(pipeline="nope") == []

    # -- the event log ---------------------------------------------------------------------

    def test_every_event_type_and_field_round_trips(self, store: RunStore) -> None:
        store.create_run(run_info("rt"))
        w = Writer(store, "rt")
        events = every_kind_of_event(w)
        w.append(*events[:3])
        w.append(*events[3:])
        assert store.read_events("rt") == events

    def test_events_after_a_seq(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        w.append(w.task("a", S.RUNNING), w.task("a", S.SUCCEEDED))
        events = store.read_events("r", after_seq=2)
        assert [e.seq for e in events] == [3, 4]
        assert store.read_events("r", after_seq=4) == []
        assert store.read_events("no-such-run") == []

    def test_seq_must_continue_the_log(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")  # seqs 1, 2
        w.seq = 3  # skips 3
        with pytest.raises(StoreError, match="seq 4 does not continue"):
            w.append(w.task("a", S.RUNNING))
        w.seq = 1  # repeats 2
        with pytest.raises(StoreError, match="seq 2 does not continue"):
            w.append(w.task("a", S.RUNNING))
        w.seq = 2
        w.append(w.task("a", S.RUNNING), w.task("a", S.SUCCEEDED))
        assert [e.seq for e in store.read_events("r")] == [1, 2, 3, 4]

    def test_a_refused_batch_writes_nothing(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b")
        before = (store.read_events("r"), store.task_records("r"), store.get_run("r"))
        good = w.task("a", S.RUNNING, at=5000.0)
        repeated = TaskTransitioned(
            run_id="r", seq=good.seq, at=5001.0, key="b", state=S.RUNNING, attempt=1
        )
        with pytest.raises(StoreError):
            store.append("r", "owner-1", [good, repeated])
        other = TaskTransitioned(
            run_id="other", seq=good.seq + 1, at=5001.0, key="b", state=S.RUNNING, attempt=1
        )
        with pytest.raises(StoreError, match="other"):
            store.append("r", "owner-1", [good, other])
        assert (store.read_events("r"), store.task_records("r"), store.get_run("r")) == before

    def test_appending_to_an_unknown_run(self, store: RunStore) -> None:
        event = RunTransitioned(run_id="ghost", seq=1, at=1.0, state=RunState.RUNNING)
        with pytest.raises(UnknownRunError, match="ghost"):
            store.append("ghost", "owner-1", [event])

    # -- the task projection ---------------------------------------------------------------

    def test_planned_tasks_start_pending_in_plan_order(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(
            w.start(
                PlannedTask(key="z", name="last_fn"),
                PlannedTask(key="a", name="first_fn"),
                PlannedTask(key="m", name="map_fn", mapped=True),
            )
        )
        assert store.task_records("r") == [
            TaskRecord(key="z", name="last_fn"),
            TaskRecord(key="a", name="first_fn"),
            TaskRecord(key="m", name="map_fn", mapped=True),
        ]

    def test_an_attempt_is_projected(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        w.append(w.task("a", S.READY, at=10.0), w.task("a", S.RUNNING, at=11.0))
        assert records(store, "r")["a"] == TaskRecord(
            key="a", name="a_fn", state=S.RUNNING, started_at=11.0, first_started_at=11.0
        )
        out = inline_ref("cc33")
        parts = {"code": "c1", "inputs": "i1"}
        w.append(
            w.task(
                "a",
                S.SUCCEEDED,
                at=14.5,
                ran_for=3.25,
                output=out,
                cache_key="k",
                cache_parts=parts,
            )
        )
        assert records(store, "r")["a"] == TaskRecord(
            key="a",
            name="a_fn",
            state=S.SUCCEEDED,
            started_at=11.0,
            ended_at=14.5,
            first_started_at=11.0,
            ran_for=3.25,
            output=out,
            cache_key="k",
            cache_parts=parts,
        )
        assert records(store, "r")["a"].duration == 3.5

    def test_cache_parts_are_read_for_the_whole_run_or_for_some_keys(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b", "c")
        for key in ("a", "b"):
            w.append(w.task(key, S.RUNNING, at=1.0))
            w.append(
                w.task(
                    key,
                    S.SUCCEEDED,
                    at=2.0,
                    output=inline_ref("cc33"),
                    cache_key=f"k-{key}",
                    cache_parts={"code": f"c-{key}"},
                )
            )
        assert store.cache_parts("r") == {"a": {"code": "c-a"}, "b": {"code": "c-b"}}
        # Without parts (c), unknown (z) and named twice: left out, and read once.
        assert store.cache_parts("r", keys=["b", "c", "z", "b"]) == {"b": {"code": "c-b"}}
        assert store.cache_parts("r", keys=[]) == {}
        assert store.cache_parts("no-such-run", keys=["a"]) == {}

    def test_retries_are_projected(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        w.append(w.task("a", S.RUNNING, at=10.0))
        w.append(w.task("a", S.RETRY_WAIT, at=12.0, error=ERROR, ran_for=1.5, retry_at=20.0))
        a = records(store, "r")["a"]
        assert (a.state, a.attempt, a.error, a.ended_at, a.ran_for) == (
            S.RETRY_WAIT,
            1,
            ERROR,
            12.0,
            1.5,
        )
        # The next attempt: ready and running in one turn, then it fails for good.
        w.append(
            w.task("a", S.READY, attempt=2, at=20.0, reason="retry"),
            w.task("a", S.RUNNING, attempt=2, at=21.0),
        )
        a = records(store, "r")["a"]
        assert (a.state, a.attempt, a.error, a.started_at, a.first_started_at) == (
            S.RUNNING,
            2,
            None,
            21.0,
            10.0,
        )
        assert (a.ended_at, a.ran_for, a.reason) == (None, None, "")
        w.append(w.task("a", S.TIMED_OUT, attempt=2, at=26.0, error=TIMEOUT, ran_for=5.0))
        assert records(store, "r")["a"] == TaskRecord(
            key="a",
            name="a_fn",
            state=S.TIMED_OUT,
            attempt=2,
            started_at=21.0,
            ended_at=26.0,
            first_started_at=10.0,
            ran_for=5.0,
            error=TIMEOUT,
        )

    def test_retry_wait_without_an_error_keeps_the_last_one(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b")
        w.append(w.task("a", S.RUNNING), w.task("b", S.RUNNING))
        w.append(w.task("a", S.FAILED, error=ERROR), w.task("b", S.RETRY_WAIT, error=ERROR))
        w.append(w.task("b", S.RETRY_WAIT, reason="again"))
        assert records(store, "r")["b"].error == ERROR
        assert records(store, "r")["b"].reason == "again"

    def test_a_terminal_row_is_final(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b")
        w.append(w.task("a", S.RUNNING), w.task("a", S.SUCCEEDED, output=inline_ref("dd")))
        final = records(store, "r")["a"]
        w.append(w.task("a", S.FAILED, error=ERROR))  # same attempt
        assert records(store, "r")["a"] == final
        # A resume that finds its stored output damaged runs it again, as a newer attempt.
        w.append(w.task("a", S.PENDING, attempt=2, reason="resumed: damaged"))
        a = records(store, "r")["a"]
        assert (a.state, a.attempt, a.reason) == (S.PENDING, 2, "resumed: damaged")
        # Within one batch too: what follows the terminal event in its attempt is ignored,
        # and a newer attempt (a resume reopening a cancelled task) replaces it.
        w.append(
            w.task("b", S.RUNNING, at=50.0),
            w.task("b", S.CANCELLED, at=51.0, reason="stop"),
            w.task("b", S.RUNNING, at=52.0),
        )
        b = records(store, "r")["b"]
        assert (b.state, b.attempt, b.ended_at, b.reason) == (S.CANCELLED, 1, 51.0, "stop")
        w.append(w.task("b", S.PENDING, attempt=2, at=53.0, reason="resumed"))
        b = records(store, "r")["b"]
        assert (b.state, b.attempt, b.reason) == (S.PENDING, 2, "resumed")
        # The event log keeps everything all the same.
        assert len(store.read_events("r")) == 2 + 2 + 1 + 1 + 3 + 1

    def test_a_stale_attempt_is_ignored(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b")
        w.append(w.task("a", S.RUNNING, attempt=2, at=30.0))
        w.append(w.task("a", S.SUCCEEDED, attempt=1, at=31.0, output=inline_ref("e1")))
        a = records(store, "r")["a"]
        assert (a.state, a.attempt, a.output, a.started_at) == (S.RUNNING, 2, None, 30.0)
        # Within one batch: the report about attempt 1 between two of attempt 2.
        w.append(
            w.task("b", S.RUNNING, attempt=2, at=40.0),
            w.task("b", S.FAILED, attempt=1, at=41.0, error=ERROR),
            w.task("b", S.SUCCEEDED, attempt=2, at=42.0, ran_for=2.0),
        )
        b = records(store, "r")["b"]
        assert (b.state, b.attempt, b.error, b.started_at, b.ended_at) == (
            S.SUCCEEDED,
            2,
            None,
            40.0,
            42.0,
        )

    def test_an_unplanned_key_gets_a_row(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        w.append(w.task("surprise", S.RUNNING, at=70.0))
        assert records(store, "r")["surprise"] == TaskRecord(
            key="surprise",
            name="surprise",
            state=S.RUNNING,
            started_at=70.0,
            first_started_at=70.0,
        )

    def test_map_items_appear_when_expanded(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(
            w.start(
                PlannedTask(key="src", name="src_fn"),
                PlannedTask(key="sq", name="sq_fn", mapped=True),
            )
        )
        w.append(w.task("sq", S.RUNNING, at=5.0), w.expand("sq", 3), w.task("sq[1]", S.RUNNING))
        rows = store.task_records("r")
        assert [r.key for r in rows] == ["src", "sq", "sq[0]", "sq[1]", "sq[2]"]
        group = rows[1]
        assert (group.state, group.mapped, group.items, group.started_at) == (
            S.RUNNING,
            True,
            3,
            5.0,
        )
        assert rows[2] == TaskRecord(
            key="sq[0]", name="sq_fn", state=S.READY, map_index=0, parent="sq"
        )
        assert (rows[3].state, rows[3].map_index, rows[3].parent, rows[3].name) == (
            S.RUNNING,
            1,
            "sq",
            "sq_fn",
        )
        w.append(w.task("sq[0]", S.SUCCEEDED), w.task("sq[2]", S.UPSTREAM_FAILED))
        assert [r.state for r in store.task_records("r")] == [
            S.PENDING,
            S.RUNNING,
            S.SUCCEEDED,
            S.RUNNING,
            S.UPSTREAM_FAILED,
        ]

    def test_keyed_map_items_are_named_by_their_keys(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(w.start(PlannedTask(key="fit", name="fit_fn", mapped=True, items=2)))
        w.append(
            w.task("fit", S.RUNNING),
            w.expand("fit", 2, keys=("linear", "random forest")),
            w.task("fit[random forest]", S.RUNNING),
        )
        w.append(w.task("fit[random forest]", S.SUCCEEDED, output=inline_ref("rf")))
        rows = store.task_records("r")
        assert [(r.key, r.map_index, r.parent, r.name, r.state) for r in rows[1:]] == [
            ("fit[linear]", 0, "fit", "fit_fn", S.READY),
            ("fit[random forest]", 1, "fit", "fit_fn", S.SUCCEEDED),
        ]
        assert rows[2].output is not None
        assert rows[2].output.checksum == inline_ref("rf").checksum
        events = store.read_events("r")
        assert [e.keys for e in events if isinstance(e, MapExpanded)] == [
            ("linear", "random forest")
        ]

    def test_a_map_of_more_items_than_one_insert_takes(self, store: RunStore) -> None:
        """The SQL stores insert a map's items a slice at a time: every item is there, in
        order, whichever slice it fell in, and a change right after the expansion finds
        the last one."""
        count = 2 * ITEM_ROWS_AT_ONCE + 3
        w = self.started(store, "r", "m")
        last = f"m[{count - 1}]"
        w.append(w.task("m", S.RUNNING), w.expand("m", count), w.task(last, S.RUNNING))
        rows = store.task_records("r")[1:]
        assert [(r.key, r.map_index) for r in rows] == [(f"m[{i}]", i) for i in range(count)]
        assert {r.state for r in rows[:-1]} == {S.READY}
        assert rows[-1].state is S.RUNNING

    def test_an_empty_map(self, store: RunStore) -> None:
        w = self.started(store, "r", "m")
        w.append(w.task("m", S.RUNNING), w.expand("m", 0), w.task("m", S.SUCCEEDED))
        m = records(store, "r")["m"]
        assert (m.state, m.mapped, m.items) == (S.SUCCEEDED, True, 0)
        assert len(store.task_records("r")) == 1

    def test_projections_of_runs_are_apart(self, store: RunStore) -> None:
        w1 = self.started(store, "r1", "a")
        w2 = self.started(store, "r2", "a")
        w1.append(w1.task("a", S.RUNNING))
        w2.append(w2.task("a", S.RUNNING), w2.task("a", S.FAILED, error=ERROR))
        assert records(store, "r1")["a"].state is S.RUNNING
        assert records(store, "r2")["a"].state is S.FAILED
        assert store.task_records("no-such-run") == []

    # -- the run record --------------------------------------------------------------------

    def test_run_transitions_are_recorded(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        w = Writer(store, "r")
        w.append(w.start(*planned("a")), w.run(RunState.RUNNING, at=1001.0))
        info = store.get_run("r")
        assert (info.state, info.ended_at, info.reason) == (RunState.RUNNING, None, "")
        w.append(w.task("a", S.RUNNING, at=1002.0))
        w.append(
            w.run(RunState.CANCELLING, reason="user asked", at=1003.0),
            w.run(RunState.CANCELLED, at=1004.0),
        )
        info = store.get_run("r")
        assert (info.state, info.ended_at, info.reason) == (
            RunState.CANCELLED,
            1004.0,
            "user asked",
        )
        assert store.list_runs(state=RunState.CANCELLED) == [info]

    def test_heartbeat(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        before = time.time()
        store.heartbeat("r", "owner-1")
        stamped = store.get_run("r").heartbeat_at
        assert before - 1.0 <= stamped <= time.time() + 1.0  # the store's clock, not 1000.0
        with pytest.raises(FencedError, match="owner-1"):
            store.heartbeat("r", "intruder")
        with pytest.raises(UnknownRunError):
            store.heartbeat("ghost", "owner-1")
        assert store.get_run("r").heartbeat_at == stamped

    def test_an_append_renews_the_owners_lease(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        before = time.time()
        w.append(w.task("a", S.RUNNING, at=5.0))  # the event's own time plays no part
        assert store.get_run("r").heartbeat_at >= before - 1.0

    # -- ownership: a lease judged on the store's clock, taken over by compare-and-set -------

    def test_a_live_run_cannot_be_taken_over(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        store.heartbeat("r", "owner-1")
        with pytest.raises(RunBusyError, match=r"owner-1.*s ago"):
            store.take_over("r", "owner-2", lease=30.0)
        assert store.get_run("r").owner == "owner-1"

    def test_a_lease_expires_on_the_stores_clock(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        store.heartbeat("r", "owner-1")
        with pytest.raises(RunBusyError):
            store.take_over("r", "owner-2", lease=0.2)
        time.sleep(0.3)
        assert store.take_over("r", "owner-2", lease=0.2).owner == "owner-2"

    def test_taking_over_a_stale_run_fences_the_old_owner(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        w.append(w.task("a", S.RUNNING, at=1000.0))
        seen = store.get_run("r")
        info = store.take_over("r", "owner-2", lease=0.0, seen=seen)
        assert (info.owner, info.epoch) == ("owner-2", 2)
        assert store.get_run("r") == info
        before = (store.read_events("r"), store.task_records("r"))
        with pytest.raises(FencedError, match=r"owner-2.*epoch 2"):
            w.append(w.task("a", S.SUCCEEDED))
        with pytest.raises(FencedError):
            store.heartbeat("r", "owner-1")
        with pytest.raises(FencedError):
            store.append("r", "owner-1", [])
        assert (store.read_events("r"), store.task_records("r")) == before
        # The new owner continues the log where it stands.
        w.owner = "owner-2"
        w.seq = 3
        w.append(w.task("a", S.SUCCEEDED, at=1040.0))
        assert records(store, "r")["a"].state is S.SUCCEEDED
        again = store.take_over("r", "owner-3", lease=0.0)
        assert again.epoch == 3

    def test_of_two_takers_that_read_the_same_owner_only_one_wins(self, store: RunStore) -> None:
        w = self.started(store, "r", "a")
        w.append(w.task("a", S.RUNNING, at=1000.0))
        seen = store.get_run("r")  # both read the dead owner-1
        assert store.take_over("r", "taker-1", lease=0.0, seen=seen).owner == "taker-1"
        with pytest.raises(RunBusyError, match="taker-1"):
            store.take_over("r", "taker-2", lease=0.0, seen=seen)
        assert (store.get_run("r").owner, store.get_run("r").epoch) == ("taker-1", 2)

    def test_an_ended_run_can_be_taken_over_at_once(self, store: RunStore) -> None:
        w = self.started(store, "r")
        w.append(w.run(RunState.FAILED, at=1000.0))
        info = store.take_over("r", "owner-2", lease=30.0)
        assert (info.owner, info.epoch, info.state) == ("owner-2", 2, RunState.RUNNING)
        with pytest.raises(RunBusyError, match="owner-2"):  # taken: owner-2's lease now
            store.take_over("r", "owner-3", lease=30.0)

    def test_the_owner_taking_over_its_own_run_changes_nothing(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        info = store.take_over("r", "owner-1", lease=30.0)
        assert info == store.get_run("r") == run_info("r")

    # -- cancel requests: recorded with the run, read by its orchestrator -----------------

    def test_a_cancel_request_is_recorded_once_and_read_by_the_owner(self, store: RunStore) -> None:
        w = self.started(store, "run-cancel-me", "a")
        assert store.cancel_requested("run-cancel-me") is None
        before = time.time()
        info = store.request_cancel("run-cancel", "by ann")  # a unique prefix will do
        assert info.run_id == "run-cancel-me"
        assert info.cancel_reason == "by ann"
        assert info.cancel_requested_at is not None
        assert info.cancel_requested_at >= before - 1.0  # the store's clock
        assert store.cancel_requested("run-cancel-me") == "by ann"
        # A second request keeps the first; the run itself is untouched.
        again = store.request_cancel("run-cancel-me", "by bob")
        assert (again.cancel_reason, again.cancel_requested_at) == (
            "by ann",
            info.cancel_requested_at,
        )
        assert again.state is RunState.RUNNING
        assert store.get_run("run-cancel-me") == again
        w.append(w.task("a", S.RUNNING))  # the owner goes on writing until it acts on it
        assert store.cancel_requested("run-cancel-me") == "by ann"

    def test_an_ended_run_takes_no_cancel_request(self, store: RunStore) -> None:
        w = self.started(store, "r")
        w.append(w.run(RunState.SUCCEEDED, at=1000.0))
        info = store.request_cancel("r", "too late")
        assert (info.cancel_requested_at, info.cancel_reason) == (None, "")
        assert store.cancel_requested("r") is None

    def test_a_take_over_clears_the_cancel_request(self, store: RunStore) -> None:
        w = self.started(store, "r")
        store.request_cancel("r", "stop")
        w.append(w.run(RunState.CANCELLED, at=1000.0))
        info = store.take_over("r", "owner-2", lease=0.0)
        assert (info.cancel_requested_at, info.cancel_reason) == (None, "")
        assert store.cancel_requested("r") is None

    def test_a_cancel_request_for_an_unknown_run(self, store: RunStore) -> None:
        with pytest.raises(UnknownRunError):
            store.request_cancel("ghost", "stop")

    def test_taking_over_an_unknown_run(self, store: RunStore) -> None:
        with pytest.raises(UnknownRunError):
            store.take_over("ghost", "owner-2", lease=30.0)

    def test_an_empty_append_only_checks_the_owner(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        store.append("r", "owner-1", [])
        with pytest.raises(FencedError):
            store.append("r", "owner-2", [])
        with pytest.raises(UnknownRunError):
            store.append("ghost", "owner-1", [])
        assert store.read_events("r") == []
        assert store.get_run("r") == run_info("r")

    # -- the cache -------------------------------------------------------------------------

    def test_successes_with_a_cache_key_are_cached(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b", "c", "d")
        small, big = inline_ref("f1"), file_ref("f2")
        w.append(
            w.task("a", S.SUCCEEDED, output=small, cache_key="k-a", at=3000.0),
            w.task("b", S.SUCCEEDED, output=big, cache_key="k-b", at=3001.0),
            w.task("c", S.SUCCEEDED, output=inline_ref("f3")),  # not cacheable
            w.task("d", S.FAILED, error=ERROR, cache_key="k-d"),  # no output
        )
        found = store.lookup_cache(["k-a", "k-b", "k-c", "k-d", "k-a"])
        assert set(found) == {"k-a", "k-b"}
        hit = found["k-a"]
        assert (hit.key, hit.output, hit.run_id, hit.task, hit.created_at) == (
            "k-a",
            small,
            "r",
            "a",
            3000.0,
        )
        assert found["k-b"].output == big
        assert store.lookup_cache([]) == {}

    def test_the_newest_entry_wins(self, store: RunStore) -> None:
        old, new = inline_ref("01", b"old"), inline_ref("02", b"new")
        w1 = self.started(store, "r1", "a")
        w1.append(w1.task("a", S.SUCCEEDED, output=old, cache_key="k", at=100.0))
        w2 = self.started(store, "r2", "a")
        w2.append(w2.task("a", S.SUCCEEDED, output=new, cache_key="k", at=200.0))
        w3 = self.started(store, "r3", "a")  # written later, but older
        w3.append(w3.task("a", S.SUCCEEDED, output=old, cache_key="k", at=150.0))
        hit = store.lookup_cache(["k"])["k"]
        assert (hit.run_id, hit.output) == ("r2", new)

    def test_cache_hits_do_not_add_entries(self, store: RunStore) -> None:
        out = inline_ref("03")
        w1 = self.started(store, "r1", "a")
        w1.append(w1.task("a", S.SUCCEEDED, output=out, cache_key="k", at=100.0))
        w2 = self.started(store, "r2", "a")
        w2.append(w2.task("a", S.SUCCEEDED, output=out, cache_key="k", cache_hit="r1", at=200.0))
        assert store.lookup_cache(["k"])["k"].run_id == "r1"
        a = records(store, "r2")["a"]
        assert (a.output, a.cache_hit, a.cache_key) == (out, "r1", "k")
        assert store.clear_cache() == 1

    def test_many_keys_in_one_lookup(self, store: RunStore) -> None:
        keys = [f"t{i}" for i in range(1200)]
        w = self.started(store, "r", *keys)
        w.append(
            *(
                w.task(k, S.SUCCEEDED, output=inline_ref(f"m{i}", b"%d" % i), cache_key=f"k{i}")
                for i, k in enumerate(keys)
            )
        )
        wanted = [f"k{i}" for i in range(0, 1300, 3)]
        found = store.lookup_cache(wanted)
        assert sorted(found) == sorted(k for k in wanted if int(k[1:]) < 1200)
        assert found["k999"].output.inline == b"999"
        assert found["k999"].task == "t999"

    def test_clearing_the_cache(self, store: RunStore) -> None:
        w = self.started(store, "r", "a", "b", "m")
        w.append(
            w.task("a", S.SUCCEEDED, output=inline_ref("a1"), cache_key="ka"),
            w.task("b", S.SUCCEEDED, output=inline_ref("b1"), cache_key="kb"),
            w.task("m", S.RUNNING),
            w.expand("m", 2),
            w.task("m[0]", S.SUCCEEDED, output=inline_ref("m0"), cache_key="km0"),
            w.task("m[1]", S.SUCCEEDED, output=inline_ref("m1"), cache_key="km1"),
        )
        assert store.clear_cache(task="m_fn") == 2  # a mapped task's items, by its name
        assert store.clear_cache(task="a") == 1  # a key works too
        assert store.clear_cache(task="nothing") == 0
        assert set(store.lookup_cache(["ka", "kb", "km0", "km1"])) == {"kb"}
        assert store.clear_cache() == 1
        assert store.lookup_cache(["kb"]) == {}

    def test_task_names_are_those_of_runs_and_of_cache_entries(self, store: RunStore) -> None:
        assert store.task_names() == []
        w = self.started(store, "r", "b", "a", "m")
        w.append(
            w.task("a", S.SUCCEEDED, output=inline_ref("a1"), cache_key="ka"),
            w.task("m", S.RUNNING),
            w.expand("m", 2),
        )
        assert store.task_names() == ["a_fn", "b_fn", "m_fn"]
        assert store.clear_cache() == 1
        assert store.task_names() == ["a_fn", "b_fn", "m_fn"]  # from the run's tasks still

    # -- logs ------------------------------------------------------------------------------

    def test_logs_read_back_in_order(self, store: RunStore) -> None:
        store.create_run(run_info("r"))
        store.create_run(run_info("other"))

        def entry(key: str, text: str, run_id: str = "r") -> LogEntry:
            return LogEntry(run_id=run_id, key=key, attempt=1, stream="stdout", text=text, at=5.0)

        store.append_logs([entry("a", "one\n"), entry("b", "two ✓\n"), entry("a", "x", "other")])
        store.append_logs([])
        store.append_logs(
            [LogEntry(run_id="r", key="a", attempt=2, stream="log", text="three", at=6.5)]
        )
        got = store.read_logs("r")
        assert [(e.key, e.attempt, e.stream, e.text, e.at) for e in got] == [
            ("a", 1, "stdout", "one\n", 5.0),
            ("b", 1, "stdout", "two ✓\n", 5.0),
            ("a", 2, "log", "three", 6.5),
        ]
        seqs = [e.seq for e in got]
        assert seqs == sorted(set(seqs))
        assert seqs[0] > 0
        assert [e.text for e in store.read_logs("r", key="a")] == ["one\n", "three"]
        assert [e.text for e in store.read_logs("r", after_seq=seqs[0])] == ["two ✓\n", "three"]
        assert [e.text for e in store.read_logs("other")] == ["x"]
        assert store.read_logs("r", key="zzz") == []

    def test_logs_of_an_unknown_run_are_refused(self, store: RunStore) -> None:
        with pytest.raises(UnknownRunError, match="ghost"):
            store.append_logs(
                [LogEntry(run_id="ghost", key="a", attempt=1, stream="stdout", text="", at=0.0)]
            )

    def test_close_twice(self, store: RunStore) -> None:
        store.close()
        store.close()
