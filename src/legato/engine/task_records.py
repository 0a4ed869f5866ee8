"""The records of a run's tasks as the engine holds them: a record that stays as it is for
long packed into one ``bytes``.

A run keeps the record of every task until it ends (its result is made of them). In a large
run nearly every task is either done, long before the end, or not begun: a million records
waiting at the start, a million succeeded ones at the end. As objects, a succeeded record is
about 750 bytes: the :class:`~legato.model.records.TaskRecord` itself, its output's
:class:`~legato.model.artifacts.ArtifactRef` with the checksum and producer strings and the
inline bytes, the cache key, its parts and the times; a waiting one is 176 bytes.

Packed, a record is its times, digests and inline bytes in one ``bytes`` object (about 125
bytes succeeded, 40 waiting), and a *shape*: what it shares with other records (state, name,
attempt, reason, serializer, meta, the parts of its cache key that every task of a step has
in common, the run that produced its output), kept once for all the records that have it.
Reading a packed record rebuilds a record equal to the one stored, field by field (2 to
5 µs).

Only a record that packs back exactly is packed: succeeded or pending, with no error; an
output kept inline and named ``<run>/<key>#<attempt>`` by the attempt that made it;
checksum and cache digests in their usual forms. Any other record (a ready or running one,
which changes at once) is kept as it is.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from legato.engine.cache import KeyParts
from legato.model.artifacts import ArtifactRef
from legato.model.records import TaskRecord
from legato.model.states import TaskState

__all__ = ["TaskRecords"]

_PACKED = frozenset({TaskState.SUCCEEDED, TaskState.PENDING})
"""States a record is packed in: it has ended well, or it waits for its inputs (each a
record that stays as it is for long, in a large run nearly all of them). A ready one is
about to run (and a map's items are read once more as the expansion adds them)."""
_CHECKSUM_PREFIX = "xxh3_128:"

# Which optional fields a packed record holds (the rest of its fields are in its shape).
_MAP_INDEX = 1
_STARTED = 2
_ENDED = 4
_FIRST = 8  # first_started_at differs from started_at
_FIRST_IS_STARTED = 16
_RAN_FOR = 32
_OUTPUT = 64
_CACHE_KEY = 128
_PARTS = 256

_SWEEP_EVERY = 4096
"""How many records are written between two sweeps that pack them."""
_PACK_FROM = 250_000
"""How many tasks a run has before its records are packed: below, their objects take less
than 200 MB, and packing and rebuilding them would cost time for little (a 100,000-task
random DAG ran 5 to 20% slower with its records packed)."""

_HEAD = struct.Struct("<IH")
"""Every packed record starts with its shape's index and its flags."""

_LAYOUT: tuple[tuple[int, str], ...] = (
    (_MAP_INDEX, "q"),
    (_STARTED, "d"),
    (_ENDED, "d"),
    (_FIRST, "d"),
    (_RAN_FOR, "d"),
    (_OUTPUT, "q16s"),  # size, checksum digest; the inline bytes end the record
    (_CACHE_KEY, "16s"),
    (_PARTS, "16s"),  # the inputs digest
)
_BODIES: dict[int, struct.Struct] = {}


def _body(flags: int) -> struct.Struct:
    """The layout of a packed record's fields after its head, for ``flags``."""
    body = _BODIES.get(flags)
    if body is None:
        body = _BODIES[flags] = struct.Struct(
            "<" + "".join(code for flag, code in _LAYOUT if flags & flag)
        )
    return body


def _digest(text: str | None) -> bytes | None:
    """The 16 bytes of a 32-digit lowercase hex digest, or None if ``text`` is not one."""
    if text is None or len(text) != 32:
        return None
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        return None
    return digest if digest.hex() == text else None  # not upper case, nor spaced


class TaskRecords(MutableMapping[str, TaskRecord]):
    """Task records by key, in the order they were added; in a large run, those that stay
    as they are for long packed.

    A record is stored as given and packed later, in a sweep over the last
    ``sweep_every`` records written, if it is still in a state that is packed: the
    engine reads a record several times around each of its transitions, and a record that
    changes again at once (ready, then running) is never packed in between. Packing costs
    a few microseconds a record and saves memory only where there are many, so a run of
    fewer than ``pack_from`` tasks keeps every record as it is.
    """

    __slots__ = (
        "_last",
        "_pack_from",
        "_packing",
        "_records",
        "_shape_index",
        "_shapes",
        "_sweep_every",
        "_written",
    )

    def __init__(
        self,
        records: Mapping[str, TaskRecord] | None = None,
        *,
        pack_from: int = _PACK_FROM,
        sweep_every: int = _SWEEP_EVERY,
    ) -> None:
        self._pack_from = pack_from
        self._packing = False
        """Whether the run has had ``pack_from`` records (sweeps pack from then on)."""
        self._sweep_every = sweep_every
        self._records: dict[str, TaskRecord | bytes] = {}
        self._shapes: list[tuple[Any, ...]] = []
        self._shape_index: dict[tuple[Any, ...], int] = {}
        self._written: list[str] = []
        """Keys written since the last sweep."""
        self._last: tuple[str, TaskRecord] | None = None
        """The packed record read last, rebuilt: a record is read several times in a row
        (its transition decided, then applied)."""
        if records:
            self.update(records)

    def __getitem__(self, key: str) -> TaskRecord:
        record = self._records[key]
        if type(record) is bytes:
            return self._read(key, record)
        return record  # type: ignore[return-value]

    def get(self, key: str, default: Any = None) -> Any:
        record = self._records.get(key)
        if record is None:
            return default
        if type(record) is bytes:
            return self._read(key, record)
        return record

    def _read(self, key: str, packed: bytes) -> TaskRecord:
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        record = self._unpack(key, packed)
        self._last = (key, record)
        return record

    def __setitem__(self, key: str, record: TaskRecord) -> None:
        self._last = None
        self._records[key] = record
        written = self._written
        written.append(key)
        if len(written) >= self._sweep_every:
            self._sweep()

    def _sweep(self) -> None:
        """Pack what was written since the last sweep and may be."""
        written, self._written = self._written, []
        records = self._records
        if len(records) < self._pack_from:
            return
        if not self._packing:  # the run has just grown large: every record is looked at
            self._packing = True
            written = list(records)
        for key in written:
            record = records.get(key)
            if type(record) is TaskRecord and record.state in _PACKED:
                packed = self._pack(key, record)
                if packed is not None:
                    records[key] = packed

    def __delitem__(self, key: str) -> None:
        self._last = None
        del self._records[key]

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"TaskRecords({len(self._records)} tasks, {len(self._shapes)} shapes)"

    # ------------------------------------------------------------------ packing

    def _pack(self, key: str, r: TaskRecord) -> bytes | None:
        """``r`` packed, or None if it would not pack back exactly."""
        if r.key != key or r.error is not None:
            return None
        flags = 0
        values: list[Any] = []
        if r.map_index is not None:
            flags |= _MAP_INDEX
            values.append(r.map_index)
        if r.started_at is not None:
            flags |= _STARTED
            values.append(r.started_at)
        if r.ended_at is not None:
            flags |= _ENDED
            values.append(r.ended_at)
        if r.first_started_at is not None:
            if r.first_started_at == r.started_at:
                flags |= _FIRST_IS_STARTED
            else:
                flags |= _FIRST
                values.append(r.first_started_at)
        if r.ran_for is not None:
            flags |= _RAN_FOR
            values.append(r.ran_for)
        output = r.output
        inline = b""
        out_shape: tuple[Any, ...] = ()
        if output is not None:
            checksum = output.checksum
            suffix = f"{key}#{r.attempt}"
            digest = (
                _digest(checksum[len(_CHECKSUM_PREFIX) :])
                if checksum.startswith(_CHECKSUM_PREFIX)
                else None
            )
            if (
                digest is None
                or output.location is not None
                or output.inline is None
                or type(output.inline) is not bytes
                or not output.producer.endswith(suffix)
                or type(output) is not ArtifactRef
            ):
                return None
            flags |= _OUTPUT
            values += (output.size, digest)
            inline = output.inline
            out_shape = (
                output.serializer,
                output.producer[: len(output.producer) - len(suffix)],
                tuple(output.meta.items()),
            )
        if r.cache_key is not None:
            cache_key = _digest(r.cache_key)
            if cache_key is None:
                return None
            flags |= _CACHE_KEY
            values.append(cache_key)
        parts = r.cache_parts
        parts_shape: tuple[Any, ...] = ()
        if parts is not None:
            inputs = _digest(parts.inputs) if type(parts) is KeyParts else None
            if inputs is None:
                return None
            flags |= _PARTS
            values.append(inputs)
            parts_shape = (parts.code, parts.params, parts.version)  # type: ignore[attr-defined]
        shape = (
            r.state,
            r.name,
            r.attempt,
            r.parent,
            r.mapped,
            r.items,
            r.reason,
            r.cache_hit,
            out_shape,
            parts_shape,
        )
        # An output's meta is told apart by its items (a dict cannot be hashed); the shape
        # kept holds the first mapping with those items, which every record of the shape
        # then reads back.
        try:
            index = self._shape_index.get(shape)
        except TypeError:  # a meta value that cannot be hashed: rare, kept whole
            return None
        if index is None:
            index = self._shape_index[shape] = len(self._shapes)
            self._shapes.append((*shape, output.meta if output is not None else None))
        return _HEAD.pack(index, flags) + _body(flags).pack(*values) + inline

    def _unpack(self, key: str, packed: bytes) -> TaskRecord:
        index, flags = _HEAD.unpack_from(packed)
        shape = self._shapes[index]
        state, name, attempt, parent, mapped, items, reason, hit, out_shape, parts_shape, meta = (
            shape
        )
        body = _body(flags)
        values = iter(body.unpack_from(packed, _HEAD.size))
        map_index = next(values) if flags & _MAP_INDEX else None
        started = next(values) if flags & _STARTED else None
        ended = next(values) if flags & _ENDED else None
        same = started if flags & _FIRST_IS_STARTED else None
        first = next(values) if flags & _FIRST else same
        ran_for = next(values) if flags & _RAN_FOR else None
        output = None
        if flags & _OUTPUT:
            size, digest = next(values), next(values)
            serializer, prefix, _ = out_shape
            output = ArtifactRef(
                checksum=_CHECKSUM_PREFIX + digest.hex(),
                size=size,
                serializer=serializer,
                inline=packed[_HEAD.size + body.size :],
                producer=f"{prefix}{key}#{attempt}",
                meta=meta,
            )
        cache_key = next(values).hex() if flags & _CACHE_KEY else None
        parts = None
        if flags & _PARTS:
            code, params, version = parts_shape
            parts = KeyParts(code=code, inputs=next(values).hex(), params=params, version=version)
        return TaskRecord(
            key=key,
            name=name,
            state=state,
            attempt=attempt,
            map_index=map_index,
            parent=parent,
            mapped=mapped,
            items=items,
            started_at=started,
            ended_at=ended,
            first_started_at=first,
            ran_for=ran_for,
            reason=reason,
            output=output,
            cache_key=cache_key,
            cache_hit=hit,
            cache_parts=parts,
        )
