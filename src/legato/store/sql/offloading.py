"""When a SQL run store's appends go to its append process (:mod:`legato.store.sql.offload`):
it is started once the store has seen enough tasks, used once it is ready, and given up for
good when it cannot start or is lost (the store then writes in its own process, after
checking whether the lost process had already committed what it was sent)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from legato.model.events import Event, MapExpanded, RunStarted
from legato.model.tracking import Tracked
from legato.store.sql.append import Appender
from legato.store.sql.connect import recipe
from legato.store.sql.offload import AppendProcess, OffloadLostError
from legato.store.sql.run_tables import runs
from legato.store.sql.statements import SUMMARY_COLUMNS
from legato.store.sql.transactions import Transactions
from legato.store.sql.writes import STATEMENTS

__all__ = ["Offloading"]

log = logging.getLogger("legato.store")


class Offloading:
    """One store's append process: whether, when and how its appends use it. Thread-safe."""

    def __init__(
        self,
        engine: sa.Engine,
        appender: Appender,
        tx: Transactions,
        where: str,
        *,
        start_from: int | None,
    ) -> None:
        self._engine = engine
        self._appender = appender
        self._tx = tx
        self._where = where
        self._start_from = start_from
        self._enabled = start_from is not None
        self._lock = threading.Lock()
        self._tasks_seen = 0
        self.process: AppendProcess | None = None
        """The append process, once started."""

    def ready_for(self, events: Sequence[Event]) -> AppendProcess | None:
        """The append process, once it is ready; started when the store has seen enough
        tasks (``events`` counted)."""
        process = self.process
        if process is None:
            if not self._enabled:
                return None
            self._tasks_seen += sum(
                len(e.tasks) if isinstance(e, RunStarted) else e.count
                for e in events
                if isinstance(e, RunStarted | MapExpanded)
            )
            if self._tasks_seen < (self._start_from or 0):
                return None
            process = self.start()
        return process if process is not None and process.ready else None

    def start(self) -> AppendProcess | None:
        """Start the append process unless it runs or cannot run; it, or None."""
        with self._lock:
            if self.process is None and self._enabled:
                try:
                    self.process = AppendProcess.start(
                        self._opening(), self._where, self._appender.statements.change
                    )
                except OSError as exc:
                    log.warning(
                        "the run store at %s writes in this process: cannot start its "
                        "append process (%s)",
                        self._where,
                        exc,
                    )
                    self._enabled = False
            return self.process

    def _opening(self) -> dict[str, Any]:
        """What the append process is started with: how to connect and the statements."""
        statements = self._appender.statements
        return {
            "connect": recipe(self._engine),
            "where": self._where,
            "statements": {name: getattr(statements, name).spec() for name in STATEMENTS},
            "summary_names": [c.name for c in SUMMARY_COLUMNS],
        }

    def append(
        self,
        process: AppendProcess,
        run_id: str,
        owner: str,
        events: Sequence[Event],
        tracked: Sequence[Tracked],
    ) -> bool:
        """Append through ``process``; ``False`` if it is gone without having committed
        (the caller then appends itself)."""
        try:
            process.append(run_id, owner, events, tracked)
        except OffloadLostError as exc:
            log.warning(
                "the append process of the run store at %s is gone (%s); this process "
                "writes from now on",
                self._where,
                exc,
            )
            return self._committed(run_id, owner, events[-1].seq)
        return True

    def _committed(self, run_id: str, owner: str, seq: int) -> bool:
        """Whether ``owner``'s log of ``run_id`` already reaches ``seq``."""
        query = sa.select(runs.c.owner, runs.c.last_seq).where(runs.c.run_id == run_id)
        row = self._tx.read(
            f"checking the log of run {run_id!r}", lambda c: c.execute(query).first()
        )
        return row is not None and row.owner == owner and row.last_seq >= seq

    def close(self) -> None:
        """Stop the append process (a later append may start a new one)."""
        with self._lock:
            process, self.process = self.process, None
            self._tasks_seen = 0
        if process is not None:
            process.close()
