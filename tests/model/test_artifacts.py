"""References to stored outputs: what many references of one run share."""

from __future__ import annotations

from legato.model.artifacts import ArtifactRef, items_of_ref, shared_meta, with_items
from legato.model.codec import artifact_from_dict, artifact_to_dict


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
