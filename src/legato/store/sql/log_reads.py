"""The SQL run store's reads of captured output: a run's log entries in order, and an
attempt's output as bytes, its size and a window of it, by index ranges on the bytes each
entry ends at (``logs.end_byte``): a tail of a long log is never the whole log."""

from __future__ import annotations

import sqlalchemy as sa

from legato.model.runs import LogEntry
from legato.store.sql.run_tables import logs

__all__ = ["log_bytes", "log_size", "logs_of"]


def _attempt(run_id: str, key: str, attempt: int) -> list[sa.ColumnElement[bool]]:
    return [logs.c.run_id == run_id, logs.c.key == key, logs.c.attempt == attempt]


def log_size(run_id: str, key: str, attempt: int, c: sa.Connection) -> int:
    """Bytes that attempt wrote: its last entry's ``end_byte`` (one index seek)."""
    end = logs.c.end_byte
    query = sa.select(end).where(*_attempt(run_id, key, attempt)).order_by(end.desc()).limit(1)
    return int(c.execute(query).scalar() or 0)


def log_bytes(
    run_id: str, key: str, attempt: int, c: sa.Connection, *, start: int, stop: int
) -> bytes:
    """Bytes ``[start, stop)`` of what that attempt wrote: the entries that end inside the
    window, and the first that ends at or after it (index ranges on ``end_byte``)."""
    if stop <= start:
        return b""
    text, end = logs.c.text, logs.c.end_byte
    inside = sa.select(text, end).where(*_attempt(run_id, key, attempt), end > start, end < stop)
    last = (
        sa.select(text, end)
        .where(*_attempt(run_id, key, attempt), end >= stop)
        .order_by(end)
        .limit(1)
    )
    rows = [*c.execute(inside.order_by(end)).all(), *c.execute(last).all()]
    if not rows:
        return b""
    # The entries are contiguous: where the first begins places them all.
    first_text, first_end = rows[0]
    begin = first_end - len(first_text.encode())
    data = "".join([text for text, _ in rows]).encode()
    return data[max(start - begin, 0) : max(stop - begin, 0)]


def logs_of(run_id: str, key: str | None, after_seq: int, c: sa.Connection) -> list[LogEntry]:
    """Captured output of a run (or one task key) after ``after_seq``, in order."""
    col = logs.c
    query = (
        sa.select(col.run_id, col.key, col.attempt, col.stream, col.text, col.at, col.seq)
        .where(col.run_id == run_id, col.seq > after_seq)
        .order_by(col.seq)
    )
    if key is not None:
        query = query.where(col.key == key)
    return [
        LogEntry(
            run_id=row.run_id,
            key=row.key,
            attempt=row.attempt,
            stream=row.stream,
            text=row.text,
            at=row.at,
            seq=row.seq,
        )
        for row in c.execute(query)
    ]
