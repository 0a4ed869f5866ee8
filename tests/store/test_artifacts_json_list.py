"""``put_json_list`` stores a list written a few thousand values at a time exactly as
``put`` stores the whole list with the ``json`` serialiser: same bytes, same reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from legato.errors import StoreError
from legato.store.artifacts import FsspecArtifactStore
from legato.store.artifacts import store as store_module


def _values(n: int) -> list[Any]:
    return [
        {"checksum": f"xxh3_128:{i:032x}", "size": i, "meta": {"k": "vé\u2028\u00e9"}, "n": None}
        for i in range(n)
    ]


@pytest.mark.parametrize("count", [0, 1, 4, 5, 9, 200])
@pytest.mark.parametrize("inline_limit", [64 * 1024, 0])
def test_the_same_reference_and_value_as_put_of_the_whole_list(
    tmp_path: Path, count: int, inline_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_JSON_AT_ONCE", 4)
    store = FsspecArtifactStore(tmp_path / "artifacts", inline_limit=inline_limit)
    values = _values(count)
    whole = store.put(values, producer="run/source#1")
    streamed = store.put_json_list(iter(values), producer="run/source#1")
    assert streamed.checksum == whole.checksum
    assert (streamed.size, streamed.inline, streamed.location) == (
        whole.size,
        whole.inline,
        whole.location,
    )
    assert streamed.serializer == "json"
    assert store.get(streamed) == values


def test_a_read_only_store_refuses(tmp_path: Path) -> None:
    FsspecArtifactStore(tmp_path / "artifacts")
    read_only = FsspecArtifactStore(tmp_path / "artifacts", read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        read_only.put_json_list([{"a": 1}], producer="run/source#1")


def test_a_failing_value_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    store = FsspecArtifactStore(tmp_path / "artifacts", inline_limit=0)

    def values() -> Any:
        yield {"a": 1}
        raise RuntimeError("the task's list broke")

    with pytest.raises(RuntimeError, match="broke"):
        store.put_json_list(values(), producer="run/source#1")
    assert not list((tmp_path / "artifacts").glob("objects/*/*"))
    assert not [p for p in (tmp_path / "artifacts" / "tmp").glob("*") if p.is_file()]
