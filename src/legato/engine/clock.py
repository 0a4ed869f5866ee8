"""Time as the engine sees it, so tests can replace it."""

from __future__ import annotations

import queue
import time
from typing import Any, Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Monotonic time for scheduling, wall time for records, and waiting on the inbox."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def wait(self, inbox: queue.SimpleQueue[Any], timeout: float | None) -> Any:
        """The next inbox item, or None when ``timeout`` seconds pass first."""
        ...


class SystemClock:
    """The real clock."""

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    def wait(self, inbox: queue.SimpleQueue[Any], timeout: float | None) -> Any:
        try:
            return inbox.get(timeout=timeout)
        except queue.Empty:
            return None
