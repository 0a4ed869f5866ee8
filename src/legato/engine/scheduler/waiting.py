"""Task instances waiting for resources, in priority order, kept as runs of one request.

An admission pass (:class:`~legato.engine.resources.Admission`) refuses every request equal
to one it refused earlier in the pass, and a refused request changes nothing for those
after it. So once the first instance of a run of equal requests is refused, the rest of
that run is too: :meth:`WaitQueue.admitted` skips the run whole. A pass then costs what it
admits plus one look per run, not one per waiting instance: the items of a map of 10,000
that needs a GPU (or, on Ray, a CPU while slots are left) no longer make every pass walk
10,000 entries, which made a run's scheduling quadratic in its width.

Requests are equal by identity: the plan shares one amounts mapping among the nodes that
ask for the same resources (``plan.build``), and a map's items share their node's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping

from legato.engine.resources import Admission
from legato.engine.scheduler.tasks import TaskEntry

__all__ = ["WaitQueue"]


class _Run:
    """Consecutive waiting instances that ask for the same amounts."""

    __slots__ = ("amounts", "entries")

    def __init__(self, amounts: Mapping[str, float], entry: TaskEntry) -> None:
        self.amounts = amounts
        self.entries = deque((entry,))


class WaitQueue:
    """A queue of task instances (oldest first, or first for a mapped sub-pipeline's next
    step) grouped into runs of equal resource requests."""

    __slots__ = ("_fronted", "_len", "_runs")

    def __init__(self) -> None:
        self._runs: deque[_Run] = deque()
        self._len = 0
        self._fronted = 0  # instances queued first: a pass in progress looks there again

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[TaskEntry]:
        for run in self._runs:
            yield from run.entries

    def __getitem__(self, index: int) -> TaskEntry:
        """The instance at ``index`` (from the front; one look per run before it)."""
        if not 0 <= index < self._len:
            raise IndexError(index)
        for run in self._runs:
            if index < len(run.entries):
                return run.entries[index]
            index -= len(run.entries)
        raise AssertionError("the queue's length and its runs disagree")

    def first(self) -> TaskEntry:
        """The first instance (the queue holds one)."""
        for run in self._runs:  # the first run, unless a pass in progress emptied it
            if run.entries:
                return run.entries[0]
        raise IndexError("an empty queue has no first instance")

    def append(self, entry: TaskEntry) -> None:
        """Queue ``entry`` last."""
        runs, amounts = self._runs, entry.node.amounts
        if runs and runs[-1].amounts is amounts:
            runs[-1].entries.append(entry)
        else:
            runs.append(_Run(amounts, entry))
        self._len += 1

    def appendleft(self, entry: TaskEntry) -> None:
        """Queue ``entry`` first."""
        runs, amounts = self._runs, entry.node.amounts
        if runs and runs[0].amounts is amounts:
            runs[0].entries.appendleft(entry)
        else:
            runs.appendleft(_Run(amounts, entry))
        self._fronted += 1
        self._len += 1

    def popleft(self) -> TaskEntry:
        """Take the first instance."""
        runs = self._runs
        while runs and not runs[0].entries:
            runs.popleft()  # emptied by a pass
        if not runs:
            raise IndexError("pop from an empty queue")
        run = runs[0]
        entry = run.entries.popleft()
        if not run.entries:
            runs.popleft()
        self._len -= 1
        return entry

    def clear(self) -> None:
        """Forget every waiting instance."""
        self._runs.clear()
        self._len = 0

    def admitted(self, admission: Admission) -> Iterator[TaskEntry]:
        """The instances ``admission`` lets start, in order, each taken off the queue as it
        is yielded; the pass ends once no slot is left. The caller starts each one before
        asking for the next, and may queue more meanwhile: appended runs are looked at in
        this pass, and one added at the front sends the pass back to the front."""
        runs = self._runs
        fronted = self._fronted
        i = 0
        try:
            while True:
                if self._fronted != fronted:
                    fronted, i = self._fronted, 0
                if i >= len(runs):
                    break
                run = runs[i]
                i += 1
                entries = run.entries
                while entries:
                    if not admission.admit(run.amounts):
                        break  # the rest of the run asks for the same: refused too
                    entry = entries.popleft()
                    self._len -= 1
                    yield entry
                    if admission.exhausted:
                        return
                    if self._fronted != fronted:
                        break  # look at the front again first
        finally:
            if any(not run.entries for run in runs):
                self._runs = deque(run for run in runs if run.entries)
