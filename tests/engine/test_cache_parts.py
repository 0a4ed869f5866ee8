"""What a cache key covered, as the read-only mapping records and events keep."""

from __future__ import annotations

import json

import pytest
import xxhash

from legato.engine.cache import KeyParts

PARTS = KeyParts(code="c1", inputs="i1", params="p1", version="v1")
AS_DICT = {"code": "c1", "inputs": "i1", "params": "p1", "version": "v1"}


def test_the_parts_read_as_the_mapping_of_their_four_names() -> None:
    assert dict(PARTS) == AS_DICT
    assert list(PARTS) == ["code", "inputs", "params", "version"]
    assert len(PARTS) == 4
    assert PARTS["inputs"] == "i1"
    assert PARTS.get("key") is None
    with pytest.raises(KeyError):
        PARTS["key"]
    assert json.loads(json.dumps(dict(PARTS))) == AS_DICT


def test_the_parts_equal_any_mapping_of_the_same_items() -> None:
    assert PARTS == AS_DICT
    assert AS_DICT == PARTS
    assert KeyParts(code="c1", inputs="i1", params="p1", version="v1") == PARTS
    assert PARTS != {**AS_DICT, "inputs": "i2"}
    assert KeyParts(code="c1", inputs="i1", params="p1") != PARTS


def test_the_key_covers_every_part() -> None:
    keys = {
        KeyParts(code="c", inputs="i", params="p", version="v").key("t"),
        KeyParts(code="c2", inputs="i", params="p", version="v").key("t"),
        KeyParts(code="c", inputs="i2", params="p", version="v").key("t"),
        KeyParts(code="c", inputs="i", params="p2", version="v").key("t"),
        KeyParts(code="c", inputs="i", params="p", version="v2").key("t"),
        KeyParts(code="c", inputs="i", params="p", version="v").key("t2"),
    }
    assert len(keys) == 6


def test_the_key_keeps_the_format_of_stored_entries() -> None:
    # Entries stored by earlier versions are found again only while the key is the hash
    # of the task and the four parts, each followed by a NUL byte.
    h = xxhash.xxh3_128()
    for part in ("t", "c1", "i1", "p1", "v1"):
        h.update(part.encode() + b"\0")
    assert PARTS.key("t") == h.hexdigest()
