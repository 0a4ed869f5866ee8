"""Item keys (``model/items.py``), how events carry them (``model/codec.py``) and the one way
tasks are counted (``model/counts.py``)."""

from __future__ import annotations

import pytest

from legato.engine.reducer import fold
from legato.model.codec import SCHEMA_VERSION, event_from_dict, event_to_dict
from legato.model.counts import TaskCount
from legato.model.events import MapExpanded, PlannedTask, RunStarted, TaskTransitioned
from legato.model.items import (
    MAX_ITEM_KEY,
    ItemKeyError,
    check_item_keys,
    item_key,
    item_key_of,
    item_keys,
)
from legato.model.states import TaskState


def test_item_task_keys_by_position_or_by_item_key() -> None:
    assert item_key("train", 3) == "train[3]"
    assert item_key("train", "linear") == "train[linear]"
    assert item_keys("train", 2) == ["train[0]", "train[1]"]
    assert item_keys("train", 2, ("a", "b")) == ["train[a]", "train[b]"]


def test_an_item_is_its_own_key_when_it_is_text_or_a_number() -> None:
    assert [item_key_of(v) for v in ("linear", 3, 0.1, 1e-5)] == ["linear", "3", "0.1", "1e-05"]
    for value in (True, None, [1], {"name": "a"}, object()):
        with pytest.raises(ItemKeyError, match="is not an item key") as caught:
            item_key_of(value)
        assert "by=" in caught.value.fix


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "is empty"),
        ("a[1]", "holds '[' and ']'"),
        ("a/b", "holds '/'"),
        ("tab\there", "holds a control character"),
        ("zero\u200bwidth", "holds a control character"),
        (" padded", "starts or ends with a space"),
        ("x" * (MAX_ITEM_KEY + 1), f"is {MAX_ITEM_KEY + 1} characters long"),
    ],
)
def test_unusable_item_keys_are_refused_with_why_and_a_fix(key: str, why: str) -> None:
    with pytest.raises(ItemKeyError) as caught:
        check_item_keys(["fine", key], values=["v0", "v1"])
    message = str(caught.value)
    assert message.startswith("item 1 ('v1') has the key ")  # a long key is shortened
    assert f", which {why}" in message
    assert "by=" in caught.value.fix


def test_usable_item_keys_pass_as_they_are() -> None:
    keys = ["linear", "random forest", "0.1", "x" * MAX_ITEM_KEY, "modèle", "a,b", "#1"]
    assert check_item_keys(keys) == tuple(keys)


def test_two_items_with_one_key_are_named_both() -> None:
    with pytest.raises(ItemKeyError) as caught:
        check_item_keys(["a", "b", "a"], values=["A", "B", "a"])
    assert str(caught.value).startswith("items 0 ('A') and 2 ('a') have the same key 'a'")


def test_a_keyed_expansion_is_written_as_version_2_and_read_back() -> None:
    keyed = MapExpanded(run_id="r", seq=4, at=1.0, key="train", count=2, keys=("a", "b"))
    data = event_to_dict(keyed)
    assert (data["v"], data["keys"]) == (2, ["a", "b"])
    assert SCHEMA_VERSION >= 2
    assert event_from_dict(data) == keyed
    # An expansion without keys stays version 1: a legato that reads only version 1 reads
    # it right, and refuses (by its version) only what it would misread.
    numbered = MapExpanded(run_id="r", seq=4, at=1.0, key="train", count=2)
    assert event_to_dict(numbered)["v"] == 1
    assert "keys" not in event_to_dict(numbered)
    assert event_from_dict(event_to_dict(numbered)) == numbered


def test_planned_sizes_travel_beside_the_tasks_a_version_1_reader_unpacks() -> None:
    started = RunStarted(
        run_id="r",
        seq=1,
        at=0.0,
        pipeline="p",
        tasks=(
            PlannedTask(key="load", name="load"),
            PlannedTask(key="train", name="train", mapped=True, items=4),
            PlannedTask(key="later", name="later", mapped=True),
        ),
    )
    data = event_to_dict(started)
    assert data["v"] == 1
    assert data["tasks"] == [
        ["load", "load", False],
        ["train", "train", True],
        ["later", "later", True],
    ]
    assert data["items"] == {"train": 4}
    assert event_from_dict(data) == started
    del data["items"]  # as written before sizes were recorded
    assert [t.items for t in event_from_dict(data).tasks] == [None, None, None]  # type: ignore[attr-defined]


def test_folding_a_keyed_expansion_makes_keyed_items() -> None:
    run = fold(
        [
            RunStarted(
                run_id="r",
                seq=1,
                at=0.0,
                pipeline="p",
                tasks=(PlannedTask(key="train", name="fit", mapped=True, items=2),),
            ),
            TaskTransitioned(
                run_id="r", seq=2, at=0.0, key="train", state=TaskState.RUNNING, attempt=1
            ),
            MapExpanded(run_id="r", seq=3, at=0.0, key="train", count=2, keys=("b", "a")),
        ]
    )
    items = [(t.key, t.name, t.map_index, t.parent) for t in run.tasks.values() if t.parent]
    assert items == [("train[b]", "fit", 0, "train"), ("train[a]", "fit", 1, "train")]
    assert run.sizes == {"train": 2}


@pytest.mark.parametrize(
    ("planned", "text"),
    [
        ([(False, None)], "1 task"),
        ([(False, None), (False, None)], "2 tasks"),
        ([(False, None), (True, 4), (True, 4)], "9 tasks (8 map items)"),
        ([(True, 1)], "1 task (1 map item)"),
        ([(False, None), (True, 0)], "1 task (0 map items)"),
        ([(False, None), (True, None)], "1 task + 1 map sized at run time"),
        (
            [(True, 3), (True, None), (True, None)],
            "3 tasks (3 map items) + 2 maps sized at run time",
        ),
    ],
)
def test_a_task_count_counts_each_map_as_its_items(
    planned: list[tuple[bool, int | None]], text: str
) -> None:
    assert str(TaskCount.of(planned)) == text


def test_a_count_follows_a_map_that_expands() -> None:
    count = TaskCount.of([(False, None), (True, None), (True, 2)])
    assert str(count.expanded(None, 5)) == "8 tasks (7 map items)"
    assert str(count.expanded(2, 3)) == "4 tasks (3 map items) + 1 map sized at run time"


def test_a_skip_is_written_as_version_3_so_older_readers_refuse_it() -> None:
    from legato.model.events import TaskTransitioned
    from legato.model.states import TaskState

    skipped = TaskTransitioned(
        run_id="r",
        seq=5,
        at=1.0,
        key="deploy",
        state=TaskState.SKIPPED,
        attempt=1,
        reason="input 'when' skipped",
    )
    data = event_to_dict(skipped)
    assert data["v"] == 3
    assert SCHEMA_VERSION == 3
    assert event_from_dict(data) == skipped
    ran = TaskTransitioned(
        run_id="r", seq=5, at=1.0, key="deploy", state=TaskState.SUCCEEDED, attempt=1
    )
    assert event_to_dict(ran)["v"] == 1
    with pytest.raises(ValueError, match="upgrade legato"):
        event_from_dict({**data, "v": SCHEMA_VERSION + 1})
