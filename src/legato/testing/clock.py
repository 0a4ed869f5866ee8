"""Time that passes only when the loop would wait."""

from __future__ import annotations

import queue
from typing import Any

__all__ = ["FakeClock"]


class FakeClock:
    """A clock for deterministic tests: when the loop waits and nothing is in its inbox, time
    jumps to the end of the wait instead of sleeping.

    Use it with the inline executor (outcomes are in the inbox before the loop waits); with
    threads or processes real work takes real time that this clock does not see.
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        """The fake time, for scheduling."""
        return self.now

    def time(self) -> float:
        """The same fake time, for records."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now += seconds

    def wait(self, inbox: queue.SimpleQueue[Any], timeout: float | None) -> Any:
        """The next inbox item if one is there; otherwise jump ``timeout`` seconds ahead and
        return None (with no timeout, block on the inbox: only another thread can help)."""
        try:
            return inbox.get_nowait()
        except queue.Empty:
            if timeout is None:
                return inbox.get()
            self.advance(timeout)
            return None
