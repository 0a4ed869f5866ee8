"""References to stored outputs: what many references of one run share."""

from __future__ import annotations

import base64
import os
from pathlib import Path, PurePosixPath

from legato.model.artifacts import (
    ArtifactRef,
    items_of_ref,
    paths_of_ref,
    shared_meta,
    with_items,
    with_paths,
)
from legato.model.codec import artifact_from_dict, artifact_to_dict
from legato.model.jsonable import from_jsonable, is_path, to_jsonable


def test_equal_metas_are_one_object() -> None:
    first = shared_meta({"serializer_version": "1", "python": "3.11.7"})
    again = shared_meta({"serializer_version": "1", "python": "3.11.7"})
    other = shared_meta({"serializer_version": "2", "python": "3.11.7"})
    assert again is first
    assert other == {"serializer_version": "2", "python": "3.11.7"}
    assert other is not first


def test_decoded_references_share_their_meta() -> None:
    def ref(i: int) -> ArtifactRef:
        return ArtifactRef(
            checksum=f"xxh3_128:{i:032x}",
            size=1,
            serializer="json",
            inline=str(i).encode(),
            producer=f"run/t[{i}]#1",
            meta={"serializer_version": "1", "lib": "9.9"},
        )

    decoded = [artifact_from_dict(artifact_to_dict(ref(i))) for i in range(3)]
    assert decoded == [ref(i) for i in range(3)]
    assert decoded[1].meta is decoded[0].meta
    assert decoded[2].meta is decoded[0].meta


def test_a_note_leaves_the_shared_meta_as_it_was() -> None:
    meta = shared_meta({"serializer_version": "1", "lib": "note-test"})
    ref = ArtifactRef(checksum="xxh3_128:00", size=2, serializer="json", meta=meta)
    noted = with_items(ref, 5)
    assert items_of_ref(noted) == 5
    assert meta == {"serializer_version": "1", "lib": "note-test"}
    assert items_of_ref(ref) is None


def test_inline_bytes_survive_the_codec() -> None:
    data = bytes(range(256)) * 3
    ref = ArtifactRef(checksum="xxh3_128:" + "0" * 32, size=len(data), serializer="x", inline=data)
    encoded = artifact_to_dict(ref)
    assert encoded["inline"] == base64.b64encode(data).decode("ascii")
    assert artifact_from_dict(encoded).inline == data


def test_the_paths_an_output_names_are_noted() -> None:
    ref = ArtifactRef(checksum="xxh3_128:" + "0" * 32, size=1, serializer="x")
    noted = with_paths(ref, {"a": Path("data/a.csv"), "b": "data/b.csv", "c": PurePosixPath("/c")})
    assert paths_of_ref(noted) == [os.path.abspath("data/a.csv"), "/c"]
    assert with_paths(ref, ["data/b.csv"]) is ref


def test_paths_travel_as_json_and_come_back_as_paths() -> None:
    value = {"p": Path("/x/y"), "s": "/x/y", "t": (PurePosixPath("z"),)}
    encoded = to_jsonable(value)
    assert encoded["s"] == "/x/y"
    assert encoded["p"] == {"__legato__": "path", "value": "/x/y"}
    assert from_jsonable(encoded) == {"p": Path("/x/y"), "s": "/x/y", "t": (Path("z"),)}
    assert not is_path("/x/y")
