"""An output's content digest is the hash of its checksums, each followed by a NUL byte,
however many there are (a reduce over a million items hashes them a chunk at a time)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import xxhash

from legato.engine import cache
from legato.engine.cache import key_of, value_digest
from legato.model.artifacts import ArtifactRef
from legato.model.item_refs import ItemRefs
from legato.model.values import Gathered, Given, Lit, Stored, StoredItems


def _ref(i: int) -> ArtifactRef:
    data = str(i).encode()
    return ArtifactRef(
        checksum=f"xxh3_128:{i:032x}",
        size=len(data),
        serializer="json",
        inline=data,
        producer=f"run/source#1[{i}]",
    )


def _expected(refs: list[ArtifactRef]) -> str:
    return xxhash.xxh3_128_hexdigest("".join(f"{r.checksum}\0" for r in refs).encode())


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 25])
def test_the_digest_of_many_outputs_does_not_depend_on_the_chunks(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "_COMBINED_AT_ONCE", 8)
    refs = [_ref(i) for i in range(count)]
    gathered = Gathered(tuple(Stored(r) for r in refs))
    split = StoredItems(ItemRefs(refs, "run/source#1"), _ref(-1))
    assert value_digest(gathered) == value_digest(split) == _expected(refs)


def test_the_default_chunk_gives_the_same_digest() -> None:
    refs = [_ref(i) for i in range(10_000)]
    assert value_digest(Gathered(tuple(Stored(r) for r in refs))) == _expected(refs)


def test_calls_with_equal_literals_share_one_params_digest() -> None:
    """Every task's record keeps its key's parts: the params digest of calls with the same
    literal arguments (a map's items, a layer of a DAG) is one string, not one each."""

    def step(x: int, scale: int) -> int:
        return x * scale

    def parts(i: int, scale: int) -> Any:
        return key_of(
            task="step",
            code="c",
            version="",
            signature=inspect.signature(step),
            args=(Given(Stored(_ref(i))),),
            kwargs=(("scale", Lit(scale)),),
            hash_path=str,
        )

    first, second, other = parts(1, 10), parts(2, 10), parts(3, 11)
    assert first.inputs != second.inputs
    assert first.params is second.params
    assert first.params != other.params
