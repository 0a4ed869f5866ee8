"""The inline executor: each call runs in the scheduler's own thread, one at a time.

For debugging (breakpoints and tracebacks work as in plain Python) and deterministic tests.
Timeouts are soft: an attempt that ran too long is marked timed out when it returns.
"""

from __future__ import annotations

from legato.executors.base import Executor, Report
from legato.executors.capacity import machine_capacity
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.specs import Capacity
from legato.runtime.data import DataPlane, LiveData, in_process_data
from legato.runtime.invoke import invoke
from legato.runtime.logs import LogSink
from legato.store.base import ArtifactStore

__all__ = ["InlineExecutor"]


class InlineExecutor(Executor):
    """Runs each call synchronously inside :meth:`submit`."""

    name = "inline"
    synchronous = True

    def __init__(self, capacity: Capacity | None = None) -> None:
        self._capacity = capacity or machine_capacity(1)
        if self._capacity.slots != 1:
            raise ValueError("the inline executor runs one call at a time: slots must be 1")
        self._report: Report | None = None
        self._current: TaskCall | None = None
        self._data: DataPlane = LiveData()

    @property
    def capacity(self) -> Capacity:
        return self._capacity

    def open(
        self,
        report: Report,
        artifacts: ArtifactStore | None = None,
        logs: LogSink | None = None,
    ) -> None:
        self._report = report
        self._data = in_process_data(artifacts)

    def submit(self, call: TaskCall) -> None:
        assert self._report is not None, "open() the executor first"
        self._current = call
        outcome = invoke(call, call.fn, self._data)  # KeyboardInterrupt propagates
        self._current = None
        self._report(outcome)

    def cancel(self, call_id: int) -> None:
        # Only reachable for a call interrupted by Ctrl-C: it is no longer running.
        call = self._current
        if call is not None and call.call_id == call_id and self._report is not None:
            self._current = None
            self._report(
                TaskOutcome(
                    call_id=call_id, key=call.key, attempt=call.attempt, kind=OutcomeKind.STOPPED
                )
            )

    def close(self, *, wait: bool = True) -> None:
        self._report = None
