"""The task fold: what one event does to a task's record, how changes compose, and the fence
the stores apply."""

from __future__ import annotations

import dataclasses
from functools import reduce
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.events import MapExpanded, PlannedTask, RunStarted, TaskTransitioned
from legato.model.fold import (
    FINAL_FOR_ATTEMPT,
    KEEP,
    UNCHANGED_FIELDS,
    Change,
    add_planned,
    admits,
    apply,
    change_of,
    expand,
    item_key,
)
from legato.model.records import TaskRecord
from legato.model.states import TASK_TERMINAL, TaskState

S = TaskState
BOOM = ErrorInfo.of(ErrorKind.RAISED, "boom", "builtins.ValueError")
CRASH = ErrorInfo.of(ErrorKind.CRASH, "worker died")
OUT = ArtifactRef(checksum="xxh3_128:o", size=2, serializer="json", inline=b"o")


def event(
    state: TaskState, *, at: float = 10.0, attempt: int = 1, **fields: Any
) -> TaskTransitioned:
    return TaskTransitioned(
        run_id="r", seq=1, at=at, key="k", state=state, attempt=attempt, **fields
    )


def record(**fields: Any) -> TaskRecord:
    return TaskRecord(**{"key": "k", "name": "k_fn", **fields})


# ------------------------------------------------------------------------ one event


def test_every_field_of_a_task_record_is_either_changed_or_never_changed() -> None:
    # apply() names each field; a field added to TaskRecord must be added here or there.
    fields = {f.name for f in dataclasses.fields(TaskRecord)}
    assert set(Change._fields) | UNCHANGED_FIELDS == fields
    assert not set(Change._fields) & UNCHANGED_FIELDS


def test_applying_a_change_keeps_what_no_event_changes() -> None:
    item = record(map_index=3, parent="m", mapped=True, items=4)
    after = apply(item, change_of(event(S.RUNNING)))
    assert {f: getattr(after, f) for f in UNCHANGED_FIELDS} == {
        f: getattr(item, f) for f in UNCHANGED_FIELDS
    }


def test_running_starts_an_attempt_and_clears_how_the_last_one_ended() -> None:
    before = record(
        state=S.RETRY_WAIT,
        started_at=1.0,
        first_started_at=1.0,
        ended_at=2.0,
        ran_for=0.5,
        error=BOOM,
        reason="retrying",
    )
    after = apply(before, change_of(event(S.RUNNING, at=10.0, attempt=2)))
    assert (after.state, after.attempt, after.reason) == (S.RUNNING, 2, "")
    assert (after.started_at, after.ended_at, after.ran_for) == (10.0, None, None)
    assert after.first_started_at == 1.0  # set once, by the first attempt
    assert after.error is None  # the failure of attempt 1 is history


def test_the_first_start_is_recorded_once() -> None:
    first = apply(record(), change_of(event(S.RUNNING, at=3.0)))
    assert first.first_started_at == 3.0
    assert apply(first, change_of(event(S.RUNNING, at=7.0))).first_started_at == 3.0


@pytest.mark.parametrize("state", sorted(TASK_TERMINAL | {S.RETRY_WAIT}))
def test_the_end_of_an_attempt_sets_when_and_how_long(state: TaskState) -> None:
    running = record(state=S.RUNNING, started_at=5.0, first_started_at=5.0)
    after = apply(running, change_of(event(state, at=9.0, ran_for=3.5)))
    assert (after.started_at, after.ended_at, after.ran_for) == (5.0, 9.0, 3.5)


def test_a_waiting_retry_keeps_the_error_unless_it_brings_one() -> None:
    failed = record(state=S.RUNNING, error=BOOM)
    assert change_of(event(S.RETRY_WAIT)).error is KEEP
    assert apply(failed, change_of(event(S.RETRY_WAIT))).error == BOOM
    assert apply(failed, change_of(event(S.RETRY_WAIT, error=CRASH))).error == CRASH
    assert apply(failed, change_of(event(S.READY))).error is None


def test_cache_facts_stay_until_an_event_brings_new_ones() -> None:
    keyed = record(cache_key="k1", cache_parts={"code": "c"}, cache_hit="older", output=OUT)
    after = apply(keyed, change_of(event(S.RUNNING)))
    assert (after.cache_key, after.cache_parts) == ("k1", {"code": "c"})
    assert (after.cache_hit, after.output) == (None, None)  # each event says these anew
    after = apply(keyed, change_of(event(S.SUCCEEDED, cache_key="k2", cache_parts={"x": "y"})))
    assert (after.cache_key, after.cache_parts) == ("k2", {"x": "y"})


def test_a_state_that_neither_starts_nor_ends_an_attempt_leaves_the_timings() -> None:
    change = change_of(event(S.READY))
    assert (change.started_at, change.ended_at, change.ran_for) == (KEEP, KEEP, KEEP)
    assert change.first_started_at is None


# ------------------------------------------------------------------------ the fence


@pytest.mark.parametrize(
    ("state", "attempt", "change_attempt", "admitted"),
    [
        (S.RUNNING, 1, 1, True),
        (S.RETRY_WAIT, 1, 1, True),
        (S.FAILED, 1, 1, False),  # terminal: final for its attempt
        (S.FAILED, 1, 2, True),  # ...but a resume's newer attempt replaces it
        (S.CANCELLED, 2, 3, True),
        (S.SUCCEEDED, 1, 1, False),
        (S.SUCCEEDED, 1, 2, True),  # a resume running again a task whose output is damaged
        (S.RUNNING, 2, 1, False),  # a report about an older attempt
        (S.PENDING, 3, 2, False),
    ],
)
def test_the_fence(state: TaskState, attempt: int, change_attempt: int, admitted: bool) -> None:
    assert admits(state, attempt, change_attempt) is admitted


# ------------------------------------------------------------------------ records created


def test_a_plan_adds_pending_records_and_replaces_none() -> None:
    tasks = {"a": record(key="a", state=S.SUCCEEDED)}
    started = RunStarted(
        run_id="r",
        seq=1,
        at=0.0,
        pipeline="p",
        tasks=(PlannedTask(key="a", name="a"), PlannedTask(key="m", name="m_fn", mapped=True)),
    )
    add_planned(tasks, started)
    assert tasks["a"].state is S.SUCCEEDED
    assert tasks["m"] == TaskRecord(key="m", name="m_fn", mapped=True)


def test_an_expansion_adds_ready_items_named_after_their_group() -> None:
    tasks = {"m": record(key="m", name="m_fn", mapped=True, state=S.RUNNING)}
    expand(tasks, MapExpanded(run_id="r", seq=2, at=0.0, key="m", count=2))
    assert list(tasks) == ["m", "m[0]", "m[1]"]
    assert tasks["m"].items == 2
    assert tasks["m[1]"] == TaskRecord(
        key=item_key("m", 1), name="m_fn", state=S.READY, map_index=1, parent="m"
    )


def test_an_expansion_never_resets_an_item() -> None:
    done = record(key="m[0]", name="m_fn", state=S.SUCCEEDED, map_index=0, parent="m")
    tasks = {"m[0]": done}
    expand(tasks, MapExpanded(run_id="r", seq=2, at=0.0, key="m", count=2))
    assert tasks["m[0]"] is done
    assert tasks["m[1]"].name == "m"  # no group record: items are named after its key


# ------------------------------------------------------------------------ properties

errors = st.sampled_from([None, BOOM, CRASH])
times = st.sampled_from([None, 1.0, 2.5])


@st.composite
def events(draw: st.DrawFn, attempt: int | None = None) -> TaskTransitioned:
    return TaskTransitioned(
        run_id="r",
        seq=1,
        at=draw(st.sampled_from([1.0, 2.0, 3.0])),
        key="k",
        state=draw(st.sampled_from(list(TaskState))),
        attempt=attempt if attempt is not None else draw(st.integers(1, 3)),
        reason=draw(st.sampled_from(["", "why"])),
        error=draw(errors),
        ran_for=draw(st.sampled_from([None, 0.5])),
        output=draw(st.sampled_from([None, OUT])),
        cache_key=draw(st.sampled_from([None, "k1", "k2"])),
        cache_hit=draw(st.sampled_from([None, "older"])),
        cache_parts=draw(st.sampled_from([None, {"code": "c1"}])),
    )


records = st.builds(
    TaskRecord,
    key=st.just("k"),
    name=st.just("k_fn"),
    state=st.sampled_from(list(TaskState)),
    attempt=st.integers(1, 3),
    started_at=times,
    ended_at=times,
    first_started_at=times,
    ran_for=times,
    reason=st.sampled_from(["", "before"]),
    error=errors,
    output=st.sampled_from([None, OUT]),
    cache_key=st.sampled_from([None, "k0"]),
    cache_hit=st.sampled_from([None, "older"]),
    cache_parts=st.sampled_from([None, {"code": "c0"}]),
)


def one_by_one(start: TaskRecord, batch: list[TaskTransitioned]) -> TaskRecord:
    return reduce(lambda r, e: apply(r, change_of(e)), batch, start)


def composed(batch: list[TaskTransitioned]) -> Change:
    return reduce(Change.then, map(change_of, batch))


@settings(max_examples=300)
@given(
    records,
    st.integers(1, 3).flatmap(lambda n: st.lists(events(attempt=n), min_size=1, max_size=6)),
)
def test_composing_same_attempt_changes_then_applying_once_equals_applying_them_in_turn(
    start: TaskRecord, batch: list[TaskTransitioned]
) -> None:
    assert apply(start, composed(batch)) == one_by_one(start, batch)


@settings(max_examples=200)
@given(records, st.lists(events(), min_size=1, max_size=6))
def test_composition_holds_across_attempts_too(
    start: TaskRecord, batch: list[TaskTransitioned]
) -> None:
    # Composition is per field and knows nothing of attempts: fencing is the stores' part.
    assert apply(start, composed(batch)) == one_by_one(start, batch)


@settings(max_examples=200)
@given(events(), events(), events())
def test_composition_is_associative(
    a: TaskTransitioned, b: TaskTransitioned, c: TaskTransitioned
) -> None:
    x, y, z = change_of(a), change_of(b), change_of(c)
    assert x.then(y).then(z) == x.then(y.then(z))


@settings(max_examples=300)
@given(
    records,
    st.integers(1, 3).flatmap(lambda n: st.lists(events(attempt=n), min_size=1, max_size=6)),
)
def test_a_fenced_segment_equals_fencing_each_event(
    start: TaskRecord, batch: list[TaskTransitioned]
) -> None:
    # What the SQL store does with one attempt's events of a task in a batch: compose them
    # up to the first terminal one, then apply the result once if the row admits it.
    fenced = start
    for e in batch:
        if admits(fenced.state, fenced.attempt, e.attempt):
            fenced = apply(fenced, change_of(e))
    upto = next((i for i, e in enumerate(batch) if e.state in FINAL_FOR_ATTEMPT), len(batch) - 1)
    segment = composed(batch[: upto + 1])
    once = apply(start, segment) if admits(start.state, start.attempt, segment.attempt) else start
    assert once == fenced
