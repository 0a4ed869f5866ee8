"""How the commands write values: durations, times, sizes, states, and the consoles they
write to."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from legato.model.records import TaskRecord

__all__ = [
    "STATE_STYLES",
    "cache_note",
    "console",
    "duration",
    "error_console",
    "instant",
    "milliseconds",
    "number",
    "size",
    "sparkline",
    "timestamp",
]

STATE_STYLES = {
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "upstream_failed": "yellow",
    "skipped": "dim cyan",
    "cancelled": "yellow",
    "cancelling": "yellow",
    "rolling_back": "yellow",
    "crashed": "red",
    "running": "cyan",
    "retry_wait": "magenta",
    "ready": "blue",
    "pending": "dim",
}
"""Colour of each task and run state in tables (terminals only)."""


def console() -> Console:
    """Standard output as rich sees it. Off a terminal (pipes, CI logs) there are no colours
    and lines are not cut to 80 columns.

    The stream is bound now: during a run ``sys.stdout`` is replaced (by the live display,
    and by the engine's output capture), and a console that looked it up on every write
    would write into its own display."""
    out = sys.stdout
    terminal = out.isatty()
    return Console(
        file=out, highlight=False, width=None if terminal else 200, soft_wrap=not terminal
    )


def error_console() -> Console:
    """Standard error, for messages about what went wrong."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes}m{rest:02d}s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


def milliseconds(seconds: float | None) -> str:
    """``0.35 ms``: the unit orchestration overhead is told in."""
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.3g} ms" if ms < 100 else f"{ms:.0f} ms"


def timestamp(at: float | None) -> str:
    """Local date and time to the second."""
    if at is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def number(value: float) -> str:
    """A metric's value as the commands print it: six significant digits, ``nan``."""
    return "nan" if math.isnan(value) else f"{value:.6g}"


def instant(at: float) -> str:
    """Local date and time to the millisecond, ISO 8601 without a space
    (``2024-05-01T12:30:01.123``): one word, so a plain table stays split by spaces."""
    whole = math.floor(at)
    millis = min(round((at - whole) * 1000), 999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(whole)) + f".{millis:03d}"


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """``values`` as a line of bars from the lowest (``▁``) to the highest (``█``), at most
    ``width`` of them: a longer series is cut into ``width`` runs of consecutive values,
    each drawn as its mean. NaN (nothing to draw) is a space; infinities are drawn at the
    ends of the range of the finite values; a series whose values are all equal is drawn
    halfway."""
    count = len(values)
    if count > width:
        values = [
            _mean(values[i * count // width : (i + 1) * count // width]) for i in range(width)
        ]
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    top = len(_BARS) - 1
    bars = []
    for value in values:
        if math.isnan(value):
            bars.append(" ")
        elif math.isinf(value):
            bars.append(_BARS[top if value > 0 else 0])
        elif high == low:
            bars.append(_BARS[top // 2])
        else:
            bars.append(_BARS[round((value - low) / (high - low) * top)])
    return "".join(bars)


def _mean(values: Sequence[float]) -> float:
    numbers = [v for v in values if not math.isnan(v)]
    return math.fsum(numbers) / len(numbers) if numbers else math.nan


def size(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``3.2 MiB``..."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} TiB"


def cache_note(record: TaskRecord) -> str:
    """What the cache did for a task: ``hit from run 01…``, ``miss, code changed``, or ``""``
    (not cached, or never reached)."""
    reason = record.reason
    if record.cache_hit:
        return f"hit from run {record.cache_hit}"
    if reason.startswith("cache: "):
        return reason.removeprefix("cache: ")
    return ""
