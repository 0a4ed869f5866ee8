"""The executor interface: carry a task call out, bring its outcome back.

An executor is opened for one run with a ``report`` callback, receives calls with
:meth:`~Executor.submit` (only when the scheduler has checked that its capacity allows), stops
calls with :meth:`~Executor.cancel` and is closed at the end of the run. Every submitted call
produces exactly one :class:`~legato.model.calls.TaskOutcome` through ``report``, from any
thread: its result, its failure, the crash of its worker, or STOPPED once a cancelled call
has really stopped (its resources are free again only then).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from legato.model.calls import CallStarted, TaskCall, TaskOutcome
from legato.model.specs import Capacity
from legato.runtime.logs import LogSink
from legato.store.base import ArtifactStore

__all__ = ["Executor", "Report"]

Report = Callable[[TaskOutcome | CallStarted], None]
"""Where an executor delivers outcomes (and, if it ``starts_late``, starts); safe to call
from any thread."""


class Executor(ABC):
    """Base of all executors."""

    name: str = "executor"
    """Short name used in run records and the CLI."""
    synchronous: bool = False
    """Whether :meth:`submit` runs the call before returning (the loop then commits and
    shows what it decided before each call, as it cannot do so while the call runs)."""
    hard_timeouts: bool = False
    """Whether :meth:`cancel` stops code stuck anywhere (killing a process) rather than only
    discarding its result."""
    shares_gpus: bool = False
    """Whether tasks may ask for a fraction of a GPU (``Resources(gpus=0.5)``): the executor
    places several on one GPU. Others hand out GPUs whole, by index."""
    starts_late: bool = False
    """Whether a submitted call may wait in the executor's own queue (a cluster placing it
    on a node with room): the executor then reports a :class:`CallStarted` when it begins
    to run, and its timeout counts from there."""

    queue_ahead: int = 0
    """How many calls of short tasks, beyond :attr:`admits`, the engine may hand over before
    a worker is free. An executor that takes them starts each call only once its capacity
    has room for it (it keeps the calls it runs within :attr:`capacity` itself) and is
    ``starts_late``: a worker that ends a call takes the next at once, instead of idling
    through the driver's round trip. Only calls claimed ahead (tasks whose attempts took a
    few milliseconds so far) and none asking for GPUs are handed over this way."""

    @property
    @abstractmethod
    def capacity(self) -> Capacity:
        """What may run at once."""

    @property
    def admits(self) -> Capacity:
        """What the engine hands the executor at once: :attr:`capacity`, or more for an
        executor that holds its calls to the capacity itself and queues the rest
        (``starts_late``), so that a machine has its next attempt before the driver has
        heard that the last one ended."""
        return self.capacity

    @property
    def hosts(self) -> tuple[Capacity, ...]:
        """What each machine offers, when calls run on several (a task must fit one of
        them); empty when :attr:`capacity` is one machine's."""
        return ()

    def check_storage(self, runs_url: str | None, artifacts_url: str | None) -> None:
        """Refuse, before a run starts, stores its workers cannot reach (an executor of
        several machines given a local SQLite file or folder). Nothing to check when calls
        run on the orchestrator's machine."""
        return

    @abstractmethod
    def open(
        self,
        report: Report,
        artifacts: ArtifactStore | None = None,
        logs: LogSink | None = None,
    ) -> None:
        """Get ready to run calls of one run; outcomes go to ``report``. With ``artifacts``
        every output is stored there as it is produced (a durable run); with ``logs``, what
        tasks print and log is captured there (in-process executors capture through the
        loop's stream routing and may ignore it)."""

    @abstractmethod
    def submit(self, call: TaskCall) -> None:
        """Start ``call``. Must not block on the call's work (the inline executor, made for
        debugging, is the exception)."""

    @abstractmethod
    def cancel(self, call_id: int) -> None:
        """Stop a submitted call; its outcome will be STOPPED (or its result if it had
        already finished). Unknown or finished ids are ignored."""

    @abstractmethod
    def close(self, *, wait: bool = True) -> None:
        """Stop everything and release workers. With ``wait=False`` do not wait for graceful
        stops (a second Ctrl-C)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
