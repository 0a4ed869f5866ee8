"""What tasks wrote, in byte ranges: a task attempt's captured output (stdout, stderr and
``logging``, in the order it was written) is one UTF-8 text, and a request reads a window
of it, at most :data:`MAX_CHUNK` bytes. Without a range the window is the text's end (the
tail, what a reader wants first); the one before it ends where this one starts.

Window edges are moved onto character boundaries (the start forwards, the end backwards),
so a window is always valid UTF-8 and the windows a reader walks back through never split a
character.
"""

from __future__ import annotations

from dataclasses import dataclass

from legato.errors import ParameterError
from legato.store.base import RunStore

__all__ = ["MAX_CHUNK", "LogChunk", "log_chunk"]

MAX_CHUNK = 1024 * 1024
"""The most bytes one window holds (1 MiB)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LogChunk:
    """A window ``[start, end)`` of a text ``size`` bytes long."""

    run_id: str
    task: str | None
    attempt: int | None
    """The attempt whose output this is (the task's latest unless asked; None for the
    whole run's output)."""
    start: int
    end: int
    size: int
    text: str


def log_chunk(
    store: RunStore,
    run_id: str,
    *,
    task: str | None = None,
    attempt: int | None = None,
    start: int | None = None,
    end: int | None = None,
    limit: int = MAX_CHUNK,
) -> LogChunk:
    """A window of the output of run ``run_id``: of task ``task``'s attempt ``attempt``
    (its latest by default), or of every task when ``task`` is None."""
    info = store.get_run(run_id)
    limit = min(max(limit, 1), MAX_CHUNK)
    if task is None:
        if attempt is not None:
            raise ParameterError("attempt needs task: an attempt is a task's")
        data = "".join(e.text for e in store.read_logs(info.run_id)).encode()
        begin, stop = _window(len(data), start, end, limit)
        text, begin, stop = _text(data[begin : stop + 1], begin, stop)
        return LogChunk(
            run_id=info.run_id,
            task=None,
            attempt=None,
            start=begin,
            end=stop,
            size=len(data),
            text=text,
        )
    if attempt is None:
        attempt = _latest_attempt(store, info.run_id, task)
    # The window alone is read (the tail of a million-line log costs what the tail is).
    size = store.log_size(info.run_id, task, attempt)
    begin, stop = _window(size, start, end, limit)
    raw = store.read_log_bytes(info.run_id, task, attempt, begin, min(stop + 1, size))
    text, begin, stop = _text(raw, begin, stop)
    return LogChunk(
        run_id=info.run_id,
        task=task,
        attempt=attempt,
        start=begin,
        end=stop,
        size=size,
        text=text,
    )


def _latest_attempt(store: RunStore, run_id: str, task: str) -> int:
    """Task ``task``'s latest attempt: of the plan's tasks, else of every task (a map
    item)."""
    for records in (store.planned_tasks(run_id), store.task_records(run_id)):
        for record in records:
            if record.key == task:
                return record.attempt
    shown = ", ".join(sorted(r.key for r in store.task_records(run_id))[:20]) or "none"
    raise ParameterError(f"run {run_id} has no task {task!r}; its tasks: {shown}")


def _window(size: int, start: int | None, end: int | None, limit: int) -> tuple[int, int]:
    """The asked window of a text ``size`` bytes long, at most ``limit`` bytes, keeping its
    end (tail first)."""
    stop = size if end is None else min(end, size)
    begin = max(stop - limit, 0) if start is None else min(start, size)
    if begin < 0 or stop < 0 or begin > stop:
        raise ParameterError(
            f"byte range {start}..{end} is empty or reversed: give 0 <= start <= end "
            f"(the text is {size} bytes)"
        )
    return max(begin, stop - limit), stop


def _text(raw: bytes, begin: int, stop: int) -> tuple[str, int, int]:
    """The window ``[begin, stop)`` of the text, given its bytes from ``begin`` (and the byte
    at ``stop`` when there is one), with its edges moved onto character boundaries."""
    first = _forward(raw, 0)
    last = max(_backward(raw, stop - begin), first)
    return raw[first:last].decode(), begin + first, begin + last


def _continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def _forward(data: bytes, at: int) -> int:
    while at < len(data) and _continuation(data[at]):
        at += 1
    return at


def _backward(data: bytes, at: int) -> int:
    while 0 < at < len(data) and _continuation(data[at]):
        at -= 1
    return at
