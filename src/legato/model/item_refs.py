"""The references of a split output's items, held compactly.

A list output that a map consumes is stored item by item (:class:`~legato.model.values.
StoredItems`), and the orchestrator keeps every item's reference until the run ends: the
map binds item ``i`` from it, and a resume or a second consumer reads it again. As
:class:`~legato.model.artifacts.ArtifactRef` objects, with their own checksum, producer
and inline strings, a million small items cost about 300 MB; most of that says the same
thing a million times (``run/task#1[i]``, ``json``, the serialiser's versions).

:class:`ItemRefs` keeps, for an item whose reference has the common form (inline bytes,
an ``xxh3_128`` checksum, the first such item's serialiser and meta, producer
``<producer>[i]``), its 16-byte digest and its bytes, joined with the others' (about 25
bytes an item plus the bytes themselves), and any other reference whole. Reading item
``i`` makes the same reference the artifact store returned (equal field by field).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from legato.model.artifacts import ArtifactRef

__all__ = ["ItemRefs"]

_PREFIX = "xxh3_128:"
_HEX = frozenset("0123456789abcdef")
_DIGEST = 16


class ItemRefs(Sequence[ArtifactRef]):
    """The item references of one split output, in order: appended to while the output
    is stored, never changed once it is handed on."""

    __slots__ = (
        "_data",
        "_digests",
        "_ends",
        "_meta",
        "_others",
        "_producer",
        "_serializer",
        "_slots",
    )

    def __init__(self, refs: Iterable[ArtifactRef], producer: str) -> None:
        self._producer = producer
        self._serializer: str | None = None
        self._meta: Mapping[str, str] = {}
        self._digests = bytearray()
        self._data = bytearray()
        self._ends = array("Q")
        """Where each compact item's bytes end in ``_data``."""
        self._slots: array[int] | int = 0
        """The count of items while every one is compact (item ``i`` is compact item
        ``i``); else, per item, its index among the compact ones, or -1 (its reference is
        in ``_others``)."""
        self._others: dict[int, ArtifactRef] = {}
        for ref in refs:
            self.append(ref)

    def append(self, ref: ArtifactRef) -> None:
        """Add the next item's reference: while the output is being stored, never after
        the sequence is handed on (it is immutable from then on)."""
        index = len(self)
        inline = self._common(ref, index)
        slots = self._slots
        if inline is not None:
            if isinstance(slots, int):
                self._slots = slots + 1
            else:
                slots.append(len(self._ends))
            self._digests += bytes.fromhex(ref.checksum[len(_PREFIX) :])
            self._data += inline
            self._ends.append(len(self._data))
            return
        if isinstance(slots, int):
            slots = self._slots = array("q", range(slots))
        slots.append(-1)
        self._others[index] = ref

    def _common(self, ref: ArtifactRef, index: int) -> bytes | None:
        """``ref``'s inline bytes when it has the common form (see the module's doc), else
        None; the first compact item sets the serialiser and meta the others must share."""
        checksum, inline = ref.checksum, ref.inline
        if (
            type(inline) is not bytes
            or ref.location is not None
            or ref.size != len(inline)
            or not checksum.startswith(_PREFIX)
            or len(checksum) != len(_PREFIX) + 2 * _DIGEST
            or not _HEX.issuperset(checksum[len(_PREFIX) :])
            or ref.producer != f"{self._producer}[{index}]"
        ):
            return None
        if self._serializer is None:
            self._serializer, self._meta = ref.serializer, ref.meta
            return inline
        if ref.serializer == self._serializer and (
            ref.meta is self._meta or ref.meta == self._meta
        ):
            return inline
        return None

    def __len__(self) -> int:
        slots = self._slots
        return slots if isinstance(slots, int) else len(slots)

    @overload
    def __getitem__(self, index: int) -> ArtifactRef: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[ArtifactRef, ...]: ...

    def __getitem__(self, index: int | slice) -> ArtifactRef | tuple[ArtifactRef, ...]:
        if isinstance(index, slice):
            return tuple(self._ref(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("item index out of range")
        return self._ref(index)

    def __iter__(self) -> Iterator[ArtifactRef]:
        return (self._ref(i) for i in range(len(self)))

    def _ref(self, index: int) -> ArtifactRef:
        slots = self._slots
        slot = index if isinstance(slots, int) else slots[index]
        if slot < 0:
            return self._others[index]
        start = self._ends[slot - 1] if slot else 0
        inline = bytes(memoryview(self._data)[start : self._ends[slot]])
        digest = self._digests[slot * _DIGEST : (slot + 1) * _DIGEST]
        assert self._serializer is not None
        return ArtifactRef(
            checksum=_PREFIX + digest.hex(),
            size=len(inline),
            serializer=self._serializer,
            inline=inline,
            producer=f"{self._producer}[{index}]",
            meta=self._meta,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ItemRefs | tuple | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"ItemRefs({len(self)} items of {self._producer})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled compact too (a worker that gathers the list receives every reference).
        return (_restore, (self._producer, self._serializer, dict(self._meta), self._state()))

    def _state(self) -> tuple[Any, ...]:
        return (self._digests, self._data, self._ends, self._slots, self._others)


def _restore(
    producer: str, serializer: str | None, meta: dict[str, str], state: tuple[Any, ...]
) -> ItemRefs:
    refs = ItemRefs((), producer)
    refs._serializer, refs._meta = serializer, meta
    refs._digests, refs._data, refs._ends, refs._slots, refs._others = state
    return refs
