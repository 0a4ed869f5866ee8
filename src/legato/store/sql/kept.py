"""The few connections a run store keeps out of its engine's pool for its appends.

An append borrows a connection for its one transaction and gives it back at once. Taking
it from the engine's pool each time would cost a pool round per append (and on PostgreSQL
a ping and a rollback: two round trips to the server), so the store keeps up to
:data:`KEEP` connections of its own between appends: enough for the two threads of a run
that append at once (the engine's driver and its journal's writer), and the same number
whatever the number of runs and threads over the process's life. A connection is never
tied to a thread: threads come and go (each run has new ones), and a connection kept for
a thread that ended would never be given back. More appends at once than kept connections
take the rest from the pool and give them back to it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, NamedTuple

import sqlalchemy as sa

from legato.errors import StoreError

__all__ = ["KEEP", "KeptConnections", "Loan"]

KEEP = 2
"""Connections a store keeps for its appends between them, at most (see the module's
documentation); the engine's pool holds the rest of the store's connections."""


class Loan(NamedTuple):
    """A connection lent for one transaction, and the lending it came from (a connection
    lent before :meth:`KeptConnections.close` goes back to the pool, not among the kept). A
    named tuple: one is made per append."""

    connection: Any
    generation: int


class KeptConnections:
    """Lends pooled DBAPI connections for one transaction each; keeps up to ``keep`` idle
    ones between transactions. Safe to share between threads."""

    def __init__(self, engine: sa.Engine, where: str, *, keep: int = KEEP) -> None:
        self._engine = engine
        self._where = where
        self._keep = keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._generation = 0
        self._pid = os.getpid()
        self._inherited: list[Any] = []

    @property
    def idle(self) -> int:
        """How many connections are kept now, waiting for the next append."""
        return len(self._idle)

    def lend(self, *, fresh: bool = False) -> Loan:
        """A connection for one transaction: the one kept last (its statements are
        prepared), else one from the pool; ``fresh``: from the pool in any case (a retry
        after a broken connection, whose siblings may be broken too)."""
        if self._pid != os.getpid():
            self._forked()
        with self._lock:
            generation = self._generation
            if self._idle and not fresh:
                return Loan(self._idle.pop(), generation)
        try:
            return Loan(self._engine.raw_connection(), generation)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot connect to the run store at {self._where}: {exc}") from exc

    def give_back(self, loan: Loan) -> None:
        """Keep the connection for the next transaction, or return it to the pool when
        enough are kept (or the store was closed since it was lent)."""
        with self._lock:
            if loan.generation == self._generation and len(self._idle) < self._keep:
                self._idle.append(loan.connection)
                return
        self._close(loan.connection)

    def drop(self, loan: Loan) -> None:
        """Discard a broken connection (the pool opens a new one in its place)."""
        loan.connection.invalidate()

    def close(self) -> None:
        """Return the kept connections to the pool; those lent now go back to it when
        their transaction ends."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for connection in idle:
            self._close(connection)

    def _close(self, connection: Any) -> None:
        with contextlib.suppress(self._engine.dialect.loaded_dbapi.Error):
            connection.close()

    def _forked(self) -> None:
        # A forked child shares its parent's sockets and files: it must neither use the
        # parent's connections nor close them (nor let them be collected, which would roll
        # them back). They stay referenced, untouched, for the child's life.
        with self._lock:
            self._inherited.extend(self._idle)
            self._idle = []
            self._generation += 1
            self._pid = os.getpid()
