"""The compact sequence of a split output's item references."""

from __future__ import annotations

import pickle

import pytest

from legato.model.artifacts import ArtifactRef
from legato.model.item_refs import ItemRefs

PRODUCER = "run1/source#1"
META = {"serializer_version": "1", "python": "3.11.7"}


def _inline(i: int, producer: str = PRODUCER, **changes: object) -> ArtifactRef:
    data = str(i).encode()
    fields: dict[str, object] = {
        "checksum": f"xxh3_128:{i:032x}",
        "size": len(data),
        "serializer": "json",
        "inline": data,
        "producer": f"{producer}[{i}]",
        "meta": META,
    }
    fields.update(changes)
    return ArtifactRef(**fields)  # type: ignore[arg-type]


def test_common_references_come_back_equal_field_by_field() -> None:
    refs = [_inline(i) for i in range(300)]
    items = ItemRefs(refs, PRODUCER)
    assert len(items) == 300
    assert list(items) == refs
    assert items[0] == refs[0]
    assert items[-1] == refs[-1]
    assert items[299] == refs[299]
    assert items[10:13] == tuple(refs[10:13])


def test_references_of_another_form_are_kept_whole_in_their_place() -> None:
    odd = [
        _inline(1, location="objects/ab/x.npy", inline=None, size=10**9),  # a file
        _inline(2, serializer="pickle"),  # another serialiser than the first
        _inline(3, meta={"serializer_version": "2"}),  # other versions
        _inline(4, producer="run0/older#2"),  # a producer not of this output
        _inline(5, checksum="sha256:" + "0" * 64),  # another algorithm
        _inline(6, checksum="xxh3_128:" + "A" * 32),  # not lower-case hex
        _inline(7, size=99),  # a size that is not its bytes'
    ]
    refs = [_inline(0), *odd, _inline(8)]
    items = ItemRefs(refs, PRODUCER)
    assert list(items) == refs
    assert [items[i] for i in range(-len(refs), 0)] == refs


def test_out_of_range_raises_index_error() -> None:
    items = ItemRefs([_inline(0)], PRODUCER)
    with pytest.raises(IndexError):
        items[1]
    with pytest.raises(IndexError):
        items[-2]
    assert list(ItemRefs([], PRODUCER)) == []


def test_equal_to_the_tuple_it_holds() -> None:
    refs = (_inline(0), _inline(1, serializer="pickle"), _inline(2))
    items = ItemRefs(refs, PRODUCER)
    assert items == refs
    assert refs == items
    assert items != refs[:2]
    assert items != ItemRefs(refs[:2], PRODUCER)


def test_pickles_compactly_and_comes_back_equal() -> None:
    refs = [_inline(i) for i in range(1000)]
    items = ItemRefs(refs, PRODUCER)
    data = pickle.dumps(items)
    again = pickle.loads(data)
    assert list(again) == refs
    assert len(data) < len(pickle.dumps(tuple(refs))) / 2

    mixed = ItemRefs([_inline(0), _inline(1, serializer="pickle")], PRODUCER)
    assert list(pickle.loads(pickle.dumps(mixed))) == list(mixed)
