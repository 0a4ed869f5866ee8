"""TaskRecords: a succeeded, pending or ready record packs into bytes and reads back equal,
field by field; anything that would not pack back exactly is kept as it is."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from legato.engine.cache import KeyParts
from legato.engine.task_records import TaskRecords
from legato.model.artifacts import ArtifactRef
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.records import TaskRecord
from legato.model.states import TaskState

HEX = "0123456789abcdef"
digests = st.text(HEX, min_size=32, max_size=32)
times = st.none() | st.floats(allow_nan=False, allow_infinity=False)


def _output(key: str, attempt: int, digest: str, inline: bytes, prefix: str) -> ArtifactRef:
    return ArtifactRef(
        checksum=f"xxh3_128:{digest}",
        size=len(inline),
        serializer="json",
        inline=inline,
        producer=f"{prefix}{key}#{attempt}",
        meta={"python": "3.11"},
    )


@st.composite
def records(draw: st.DrawFn) -> TaskRecord:
    key = draw(st.sampled_from(["train", "step[3]", "fan[12]", "a.b_2"]))
    attempt = draw(st.integers(1, 5))
    state = draw(st.sampled_from(list(TaskState)))
    started = draw(times)
    output = None
    if draw(st.booleans()):
        output = _output(
            key,
            attempt,
            draw(digests),
            draw(st.binary(max_size=40)),
            draw(st.sampled_from(["run-1/", "run-0/", ""])),
        )
    parts = None
    if draw(st.booleans()):
        parts = KeyParts(
            code=draw(st.sampled_from(["c1", "custom"])),
            inputs=draw(digests | st.just("")),
            params=draw(st.sampled_from(["p", ""])),
            version=draw(st.sampled_from(["", "v2"])),
        )
    return TaskRecord(
        key=key,
        name=key.split("[")[0],
        state=state,
        attempt=attempt,
        map_index=draw(st.none() | st.integers(0, 2**40)),
        parent=draw(st.none() | st.just("fan")),
        mapped=draw(st.booleans()),
        items=draw(st.none() | st.integers(0, 10**6)),
        started_at=started,
        ended_at=draw(times),
        first_started_at=draw(st.sampled_from([None, started]) | times),
        ran_for=draw(times),
        reason=draw(st.sampled_from(["", "cache: miss, code changed"])),
        output=output,
        cache_key=draw(st.none() | digests | st.just("not-a-digest")),
        cache_hit=draw(st.none() | st.just("run-0")),
        cache_parts=parts,
        error=draw(st.none() | st.just(ErrorInfo.of(ErrorKind.RAISED, "boom"))),
    )


@given(st.lists(records(), max_size=12))
def test_records_read_back_equal_in_order(given_records: list[TaskRecord]) -> None:
    tasks = TaskRecords(pack_from=0, sweep_every=1)
    expected: dict[str, TaskRecord] = {}
    for record in given_records:
        tasks[record.key] = record
        expected[record.key] = record
    assert list(tasks) == list(expected)
    assert len(tasks) == len(expected)
    for key, record in expected.items():
        assert tasks[key] == record
        assert tasks.get(key) == record
    assert dict(tasks.items()) == expected


def _succeeded(i: int) -> TaskRecord:
    key = f"fan[{i}]"
    return TaskRecord(
        key=key,
        name="fan",
        state=TaskState.SUCCEEDED,
        map_index=i,
        parent="fan",
        started_at=1000.0 + i,
        ended_at=1000.5 + i,
        first_started_at=1000.0 + i,
        ran_for=0.25,
        output=_output(key, 1, f"{i:032x}", str(i).encode(), "run-1/"),
        cache_key=f"{i + 7:032x}",
        cache_parts=KeyParts(code="c", inputs=f"{i + 9:032x}", params="p"),
    )


def test_a_succeeded_record_is_packed_and_shares_its_shape() -> None:
    tasks = TaskRecords(pack_from=0, sweep_every=1)
    for i in range(100):
        tasks[f"fan[{i}]"] = _succeeded(i)
    assert repr(tasks) == "TaskRecords(100 tasks, 1 shapes)"
    packed = tasks._records["fan[42]"]
    assert type(packed) is bytes
    # Times, digests and the inline bytes: far below the ~750 bytes of the objects.
    assert sys.getsizeof(packed) < 150
    assert tasks["fan[42]"] == _succeeded(42)


def test_what_would_not_pack_back_exactly_is_kept_whole() -> None:
    base = _succeeded(1)
    assert base.output is not None
    odd = [
        # An output produced by another attempt (a cache hit of an earlier run's retry).
        TaskRecord(
            key=base.key,
            name="fan",
            state=TaskState.SUCCEEDED,
            attempt=1,
            output=_output(base.key, 2, "0" * 32, b"1", "run-0/"),
        ),
        # Kept in a file, not inline.
        TaskRecord(
            key=base.key,
            name="fan",
            state=TaskState.SUCCEEDED,
            output=ArtifactRef(
                checksum=base.output.checksum,
                size=9,
                serializer="npy",
                location="objects/ab/x.npy",
                producer=base.output.producer,
            ),
        ),
        TaskRecord(key=base.key, name="fan", state=TaskState.SUCCEEDED, cache_key="custom key"),
        TaskRecord(key=base.key, name="fan", state=TaskState.SUCCEEDED, cache_parts={"code": "c"}),
        TaskRecord(key=base.key, name="fan", state=TaskState.RUNNING),
    ]
    for record in odd:
        tasks = TaskRecords(pack_from=0, sweep_every=1)
        tasks[record.key] = record
        assert tasks._records[record.key] is record
        assert tasks[record.key] == record


def test_a_waiting_record_is_packed_small() -> None:
    tasks = TaskRecords(pack_from=0, sweep_every=1)
    for i in range(100):
        key = f"fan[{i}]"
        tasks[key] = TaskRecord(
            key=key, name="fan", state=TaskState.PENDING, map_index=i, parent="fan"
        )
    tasks["train"] = TaskRecord(key="train", name="train")
    assert repr(tasks) == "TaskRecords(101 tasks, 2 shapes)"
    assert sys.getsizeof(tasks._records["fan[7]"]) < 60
    assert tasks["fan[7]"] == TaskRecord(
        key="fan[7]", name="fan", state=TaskState.PENDING, map_index=7, parent="fan"
    )


def test_records_are_packed_in_sweeps_and_only_in_a_large_run() -> None:
    small = TaskRecords(pack_from=10, sweep_every=4)
    for i in range(8):
        small[f"fan[{i}]"] = _succeeded(i)
    assert all(type(r) is TaskRecord for r in small._records.values())  # 8 < 10 tasks
    for i in range(8, 12):
        small[f"fan[{i}]"] = _succeeded(i)
    # Grown to 12: the sweep packed every record, those written before it was large too.
    assert all(type(r) is bytes for r in small._records.values())
    large = TaskRecords(pack_from=4, sweep_every=4)
    for i in range(7):
        large[f"fan[{i}]"] = _succeeded(i)
    packed = [type(r) is bytes for r in large._records.values()]
    assert packed == [True] * 4 + [False] * 3  # the last three wait for the next sweep
    running = TaskRecord(key="fan[8]", name="fan", state=TaskState.RUNNING)
    large["fan[8]"] = running  # the sweep: what runs stays as it is
    assert large._records["fan[8]"] is running
    assert [large[f"fan[{i}]"] for i in range(7)] == [_succeeded(i) for i in range(7)]


def test_a_record_replaced_or_deleted() -> None:
    tasks = TaskRecords({"fan[1]": _succeeded(1)}, pack_from=0, sweep_every=1)
    running = TaskRecord(key="fan[1]", name="fan", state=TaskState.RUNNING, attempt=2)
    tasks["fan[1]"] = running
    assert tasks["fan[1]"] is running
    del tasks["fan[1]"]
    assert "fan[1]" not in tasks
    assert tasks.get("fan[1]") is None
