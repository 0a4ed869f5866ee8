"""The projection, property-tested: for any events, split into turns in any way, the SQL store
(which merges each turn per task and upserts in SQL) ends where the in-memory store (which
applies events one by one) ends; and where the events follow the engine's rules, both equal
the engine's own reducer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legato.engine.reducer import fold
from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import Event, MapExpanded, PlannedTask, RunStarted, TaskTransitioned
from legato.model.items import item_keys
from legato.model.runs import RunInfo
from legato.model.states import TASK_TERMINAL, TaskState
from legato.store.base import RunStore
from legato.store.memory import MemoryRunStore
from legato.store.sql import SqlRunStore, prepared

PLANNED = (
    PlannedTask(key="a", name="a_fn"),
    PlannedTask(key="b", name="b_fn"),
    PlannedTask(key="m", name="m_fn", mapped=True),
)
KEYS = ["a", "b", "m", "m[0]", "m[1]", "m[b]", "m[a]", "x"]  # x is never planned
ITEM_KEYS = ("b", "a")
"""The item keys of a keyed expansion of ``m`` (its first ``count``)."""
ERRORS = [
    None,
    ErrorInfo(kind=ErrorKind.RAISED, type_name="builtins.KeyError", message="k", mro=("a", "b")),
    ErrorInfo.of(ErrorKind.CRASH, "worker died"),
]
_ids = itertools.count()


@st.composite
def task_event(draw: st.DrawFn) -> dict[str, Any]:
    output = None
    if draw(st.booleans()):
        tag = draw(st.sampled_from(["o1", "o2", "o3"]))
        output = ArtifactRef(
            checksum=f"xxh3_128:{tag}", size=2, serializer="json", inline=tag.encode()
        )
    return {
        "key": draw(st.sampled_from(KEYS)),
        "state": draw(st.sampled_from(list(TaskState))),
        "attempt": draw(st.integers(1, 3)),
        "reason": draw(st.sampled_from(["", "why"])),
        "error": draw(st.sampled_from(ERRORS)),
        "ran_for": draw(st.sampled_from([None, 0.5])),
        "output": output,
        "cache_key": draw(st.sampled_from([None, "k1", "k2"])),
        "cache_hit": draw(st.sampled_from([None, None, "older"])),
        "cache_parts": draw(st.sampled_from([None, {"code": "c1"}, {"code": "c2", "inputs": "i"}])),
    }


steps = st.lists(
    st.one_of(
        task_event(),
        st.tuples(st.integers(0, 2), st.booleans()).map(
            lambda d: {"expand": d[0], "keys": ITEM_KEYS[: d[0]] if d[1] else ()}
        ),
    ),
    min_size=1,
    max_size=25,
)


def build(run_id: str, drawn: list[dict[str, Any]]) -> list[Event]:
    events: list[Event] = [RunStarted(run_id=run_id, seq=1, at=1.0, pipeline="p", tasks=PLANNED)]
    for i, step in enumerate(drawn, start=2):
        if "expand" in step:
            events.append(
                MapExpanded(
                    run_id=run_id,
                    seq=i,
                    at=float(i),
                    key="m",
                    count=step["expand"],
                    keys=step["keys"],
                )
            )
        else:
            events.append(TaskTransitioned(run_id=run_id, seq=i, at=float(i), **step))
    return events


def split(events: list[Event], cuts: list[int]) -> list[list[Event]]:
    points = sorted({c % len(events) for c in cuts} | {0, len(events)})
    return [events[a:b] for a, b in itertools.pairwise(points) if a < b]


def write(store: RunStore, run_id: str, turns: list[list[Event]]) -> None:
    store.create_run(RunInfo(run_id=run_id, pipeline="p", owner="o"))
    for turn in turns:
        store.append(run_id, "o", turn)


def follows_the_rules(events: list[Event]) -> bool:
    """Whether the engine could have written these (so the store's rules never fire)."""
    attempts: dict[str, int] = {}
    ended: set[str] = set()
    items: set[str] | None = None
    for e in events:
        if isinstance(e, MapExpanded):
            if items is not None:
                return False  # a list is expanded once
            items = set(item_keys("m", e.count, e.keys))
        if not isinstance(e, TaskTransitioned):
            continue
        extras = (e.output, e.ran_for, e.cache_key, e.cache_hit, e.cache_parts)
        if e.key == "m" and items is None and extras != (None,) * 5:
            return False  # before its expansion a mapped task's group only changes state
        if e.key == "x" or (e.key.startswith("m[") and e.key not in (items or ())):
            return False
        if e.key in ended or e.attempt < attempts.get(e.key, 1):
            return False
        attempts[e.key] = e.attempt
        if e.state in TASK_TERMINAL:
            ended.add(e.key)
    return True


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlRunStore]:
    path: Path = tmp_path_factory.mktemp("projection") / "legato.db"
    store = SqlRunStore(f"sqlite:///{path}")
    yield store
    store.close()


def check_same(sql: RunStore, drawn: list[dict[str, Any]], cuts: list[int]) -> None:
    run_id = f"prop-{next(_ids)}"
    events = build(run_id, drawn)
    turns = split(events, cuts)
    memory = MemoryRunStore()
    write(memory, run_id, turns)
    write(sql, run_id, turns)
    expected = memory.task_records(run_id)
    assert sql.task_records(run_id) == expected
    assert sql.read_events(run_id) == events
    if follows_the_rules(events):
        assert list(fold(events).tasks.values()) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=steps, cuts=st.lists(st.integers(0, 30), max_size=6))
def test_sqlite_projection_equals_the_reference(
    sqlite_store: SqlRunStore, drawn: list[dict[str, Any]], cuts: list[int]
) -> None:
    check_same(sqlite_store, drawn, cuts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=steps, cuts=st.lists(st.integers(0, 30), max_size=6))
def test_postgres_projection_equals_the_reference(
    postgres_run_store: SqlRunStore, drawn: list[dict[str, Any]], cuts: list[int]
) -> None:
    check_same(postgres_run_store, drawn, cuts)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=steps, cuts=st.lists(st.integers(0, 30), max_size=6))
def test_postgres_array_statements_equal_the_reference(
    postgres_run_store: SqlRunStore, drawn: list[dict[str, Any]], cuts: list[int]
) -> None:
    # Every multi-row statement in its one-array-per-column form, however few its rows.
    with mock.patch.object(prepared, "ARRAYS_FROM", 1):
        check_same(postgres_run_store, drawn, cuts)
