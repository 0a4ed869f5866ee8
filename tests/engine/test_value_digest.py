"""An output's content digest is the hash of its checksums, each followed by a NUL byte,
however many there are (a reduce over a million items hashes them a chunk at a time)."""

from __future__ import annotations

import pytest
import xxhash

from legato.engine import cache
from legato.engine.cache import value_digest
from legato.model.artifacts import ArtifactRef
from legato.model.item_refs import ItemRefs
from legato.model.values import Gathered, Stored, StoredItems


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
