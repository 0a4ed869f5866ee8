"""Where a run's events go: first the run store (one transaction), then the listeners.

Events wait in the journal (``add``) until a ``flush`` commits them, all together, with the
values tasks tracked meanwhile (group commit); a listener never sees an event that is not
committed, and ``committed`` says how far the commits have come, which is how far the
driver may hand calls to the executor (write-ahead dispatch). With a store the commits can
run on a writer thread (:meth:`Journal.start_writer`) so that the driver keeps scheduling
while the store writes: it takes one batch at a time, and what is added meanwhile waits for
the next (batches grow with the store's latency). A flush that must be durable on return
(the run's end, a call waiting for its claim) waits for the writer first. Heartbeats and log
writes share the writer's lock, so the store sees one writer per run at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from legato._crash import crash_point
from legato.errors import StoreError
from legato.model.events import Event, RollbackTransitioned, RunTransitioned, TaskTransitioned
from legato.model.rollback import RollbackState
from legato.model.runs import LogEntry
from legato.model.states import TaskState
from legato.model.tracking import Tracked
from legato.store.base import RunStore

__all__ = ["Journal", "Listener"]

log = logging.getLogger("legato.engine")


class Listener(Protocol):
    """Receives a run's events, in order, in batches, after they are committed."""

    def on_events(self, events: Sequence[Event]) -> None: ...


class Journal:
    """Commits events of one run and hands them on."""

    def __init__(
        self,
        run_id: str,
        *,
        store: RunStore | None,
        owner: str,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.run_id = run_id
        self.store = store
        self.owner = owner
        self.listeners = list(listeners)
        self.last_commit = 0.0
        self.committed = 0
        """Sequence number of the last event committed (and shown to listeners): a call
        whose claim has a number up to it may be handed to the executor."""
        self._pending: list[Event] = []
        self._pending_tracked: list[Tracked] = []
        self._pending_since = 0.0
        self._writer: _Writer | None = None
        self._lock = threading.Lock()  # one store write of this run at a time

    def add(self, events: Sequence[Event], now: float) -> None:
        """Keep ``events`` for the next commit (group commit: :meth:`flush` commits all that
        wait, in one transaction)."""
        if not self._pending:
            self._pending_since = now
        self._pending.extend(events)

    @property
    def pending(self) -> int:
        """How many events wait for a commit."""
        return len(self._pending)

    def waited(self, now: float) -> float:
        """How long the oldest waiting event has waited (0 when none waits)."""
        return now - self._pending_since if self._pending else 0.0

    def flush(
        self,
        now: float,
        tracked: Sequence[Tracked] = (),
        *,
        final: bool = False,
        through: int | None = None,
    ) -> None:
        """Commit the waiting events with ``tracked`` values (in the same transaction: a
        task's success is never durable without its metrics): handed to the writer thread
        when there is one and it is free (else they keep waiting and join the next batch:
        the writer wakes the driver when it is done), on this thread when ``final`` or
        without a writer. With ``final``, everything is committed on return; with
        ``through``, at least the events up to that sequence number (what the writer had in
        hand may be enough: the rest then keeps waiting)."""
        self._pending_tracked.extend(tracked)
        if through is not None:
            if self.committed >= through:
                return
            self.wait()
            if self.committed >= through:
                return
            pending = self._pending
            cut = through - pending[0].seq + 1 if pending else 0
            if 0 < cut < len(pending):
                # What the caller waits for now; what comes after to the writer thread, which
                # commits it while the caller goes on.
                self._commit(pending[:cut], now, self._pending_tracked)
                self._pending, self._pending_tracked = pending[cut:], []
                if self._writer is not None and self._writer.offer(self._pending, now, ()):
                    self._pending = []
                return
            final = True
        if not self._pending and not self._pending_tracked:
            if final:
                self.wait()
            return
        if self._writer is not None and not final:
            if not self._writer.offer(self._pending, now, self._pending_tracked):
                return
        else:
            self.wait()
            self._commit(self._pending, now, self._pending_tracked)
        self._pending, self._pending_tracked = [], []

    @property
    def background(self) -> bool:
        """Whether commits run on the writer thread (see :meth:`flush`)."""
        return self._writer is not None

    def start_writer(self, wake: Callable[[], None]) -> None:
        """Commit on a writer thread from now on; ``wake()`` is called (on that thread) each
        time it finishes a batch, so the driver can hand over the next."""
        if self.store is not None and self._writer is None:
            self._writer = _Writer(self, wake)

    def wait(self) -> None:
        """Wait until everything handed off is committed; raises what a commit raised."""
        if self._writer is not None:
            self._writer.wait()

    def close(self) -> None:
        """Stop the writer thread (after its current batch); commits are synchronous again."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop()

    def _commit(self, batch: Sequence[Event], now: float, tracked: Sequence[Tracked] = ()) -> None:
        if self.store is not None:
            with self._lock:
                self.store.append(self.run_id, self.owner, batch, tracked)
            self.last_commit = now
            _crash_points(batch)
        if not batch:
            return
        self.committed = batch[-1].seq
        for listener in list(self.listeners):  # a copy: a failing one is removed below
            try:
                listener.on_events(batch)
            except Exception:
                log.exception("listener %r failed; it is dropped from this run", listener)
                self.listeners.remove(listener)

    def logs(self, entries: Sequence[LogEntry]) -> None:
        """Store captured output (best effort: a failure to store logs never fails a run)."""
        if self.store is None:
            return
        try:
            with self._lock:
                self.store.append_logs(entries)
        except Exception:
            log.exception("could not store %d log entries of run %s", len(entries), self.run_id)

    def cancel_requested(self) -> str | None:
        """The reason of a cancel asked for through the store (another process, another
        machine, the API), or None; a store that cannot be read now is asked again later."""
        if self.store is None:
            return None
        try:
            return self.store.cancel_requested(self.run_id)
        except StoreError:
            log.warning("could not read the cancel requests of run %s", self.run_id)
            return None

    def heartbeat(self, now: float) -> None:
        """Renew this orchestrator's lease on the run (``now``: the caller's monotonic time
        before the renewal, so that ``last_commit`` never claims more than the store gave)."""
        if self.store is not None:
            with self._lock:
                self.store.heartbeat(self.run_id, self.owner)
            self.last_commit = now


def _crash_points(batch: Sequence[Event]) -> None:
    """The crash points a committed batch reaches: one per success, per claim batch, per
    compensation's start and end, and the run's end."""
    claimed = False
    for event in batch:
        if isinstance(event, TaskTransitioned):
            if event.state is TaskState.SUCCEEDED:
                crash_point("state_committed")
            elif event.state is TaskState.RUNNING:
                claimed = True
        elif isinstance(event, RollbackTransitioned):
            started = event.state is RollbackState.STARTED
            crash_point("rollback_started" if started else "rollback_committed")
    if claimed:  # durable claims whose calls are not handed over yet
        crash_point("claim_committed")
    if any(isinstance(e, RunTransitioned) and e.state.is_terminal for e in batch):
        crash_point("run_finalised")


class _Writer:
    """The thread that commits a journal's batches, one at a time, in the order given."""

    def __init__(self, journal: Journal, wake: Callable[[], None]) -> None:
        self._journal = journal
        self._wake = wake
        self._cond = threading.Condition()
        self._batch: list[Event] | None = None
        self._tracked: Sequence[Tracked] = ()
        self._now = 0.0
        self._busy = False
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"legato-journal-{journal.run_id}", daemon=True
        )
        self._thread.start()

    def offer(self, batch: list[Event], now: float, tracked: Sequence[Tracked]) -> bool:
        with self._cond:
            self._raise()
            if self._busy:
                return False
            self._batch, self._tracked, self._now, self._busy = batch, tracked, now, True
            self._cond.notify_all()
            return True

    def wait(self) -> None:
        with self._cond:
            while self._busy:
                self._cond.wait()
            self._raise()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._batch is None and not self._stopping:
                    self._cond.wait()
                if self._batch is None:
                    return
                batch, tracked, now = self._batch, self._tracked, self._now
            try:
                self._journal._commit(batch, now, tracked)
            except BaseException as exc:  # handed to the driver, which raises it
                error: BaseException | None = exc
            else:
                error = None
            with self._cond:
                self._batch, self._tracked, self._busy = None, (), False
                if error is not None:
                    self._error = error
                self._cond.notify_all()
            self._wake()
