"""References to stored task outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["INLINE_LIMIT", "ArtifactRef"]

INLINE_LIMIT = 64 * 1024
"""Serialised outputs up to this many bytes are kept inside the run store (committed with the
task's success, in the same transaction); larger ones go to the artifact store's files or
objects and only their reference is recorded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactRef:
    """Where a task output is, how to read it, and how to check it.

    ``checksum`` is ``xxh3_128:<hex>`` of the serialised bytes: it is verified on every read
    and it is the output's content hash in cache keys. Storage locations are assigned by
    legato (``objects/<hh>/<checksum>.<ext>``), never taken from users.
    """

    checksum: str
    size: int
    serializer: str
    """Name of the serialiser that wrote it (``json``, ``npy``, ``parquet``, ``joblib``,
    ``pickle``)."""
    location: str | None = None
    """Key inside the artifact store; None when the bytes are inline."""
    inline: bytes | None = None
    producer: str = ""
    """``run_id/task_key#attempt`` that produced it, for error messages."""
    meta: Mapping[str, str] = field(default_factory=dict)
    """Serialiser and library versions, dtype/shape and the like."""

    @property
    def digest(self) -> str:
        """The hex part of the checksum."""
        return self.checksum.split(":", 1)[-1]
