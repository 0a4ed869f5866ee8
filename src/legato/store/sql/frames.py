"""The frames a SQL store and its append process exchange (see :mod:`legato.store.sql.offload`):
a 4-byte big-endian length, then a JSON body.

A module of its own so that the append process imports only this of the store's side of the
pipe: the side that starts the process needs ``subprocess``, ``threading`` and ``logging``,
about a tenth of what the process imports before it is ready.
"""

from __future__ import annotations

import json
import struct
from typing import IO, Any

import orjson

__all__ = ["encode", "receive", "send"]

_HEADER = struct.Struct(">I")


def encode(value: Any) -> bytes:
    """A frame's JSON. Unlike the store's column encoding (``batch.dumps``), the fallback
    escapes to ASCII: the other side parses with orjson, which refuses unpaired surrogates."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # ints beyond 64 bits, unpaired surrogates: the standard library's JSON
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def send(stream: IO[bytes], body: bytes) -> None:
    """Write one frame of ``body`` and flush it."""
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def receive(stream: IO[bytes]) -> Any | None:
    """The next frame's value; ``None`` at the end of the stream (or in a cut frame)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    return orjson.loads(body)
