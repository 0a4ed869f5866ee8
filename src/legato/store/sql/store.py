"""The SQL run store: SQLite by default, PostgreSQL with the same code."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import TypeVar

import sqlalchemy as sa

from legato.errors import FencedError, RunExistsError, StoreError, UnknownRunError
from legato.model.events import Event
from legato.model.run_query import RunPage, RunQuery
from legato.model.runs import CacheHit, LogEntry, RunInfo
from legato.model.states import RUN_TERMINAL, RunState
from legato.model.tracking import Tracked
from legato.store.refusals import check_batch, fenced_message, refuse_take_over, unknown_run_message
from legato.store.sql import log_reads, reads
from legato.store.sql.append import Appender
from legato.store.sql.batch import Batch, dumps, log_rows, plan_batch, tracked_rows
from legato.store.sql.connect import db_now, dialect_insert, make_engine, upgrade
from legato.store.sql.models import SqlModelStore
from legato.store.sql.offloading import Offloading
from legato.store.sql.queries import find_runs_statement, next_cursor
from legato.store.sql.readonly import check_schema, read_only_engine
from legato.store.sql.run_reads import SqlRunReads
from legato.store.sql.run_tables import (
    cache_entries,
    logs,
    pipeline_versions,
    pipelines,
    runs,
    task_runs,
)
from legato.store.sql.transactions import Transactions

__all__ = ["OFFLOAD_FROM", "OFFLOAD_MIN_EVENTS", "SqlRunStore"]

log = logging.getLogger("legato.store")

_T = TypeVar("_T")
OFFLOAD_FROM = 5_000
"""Tasks (planned, or items of expanded maps; counted over every run the store object
appends) before the store starts its append process (:mod:`legato.store.sql.offload`). The
process imports no SQLAlchemy and is ready within tens of milliseconds on an idle machine,
so a big run moves the store's Python work off the orchestrator's GIL almost from its
start. A run of a few hundred tasks is better off without it: measured beside the engine
before (``make bench-ab``), a 500-item fan-out that started it was slower, the process's
start competing with the run for the machine's two cores."""
OFFLOAD_MIN_EVENTS = 16
"""Smaller appends are written in-process even when the append process is ready: a
synchronous commit (the inline executor commits before each call) would wait for the round
trip, and a few events cost less to write than to ship."""
_CHUNK = 500  # keys per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


class SqlRunStore(SqlRunReads):
    """A :class:`~legato.store.base.RunStore` in a SQL database (SQLAlchemy 2 Core).

    ``url`` is a SQLAlchemy URL: ``sqlite:///path/to/legato.db`` (the folder is created) or
    ``postgresql+psycopg://user@host/db``. Opening upgrades the schema to the newest
    migration. One store object may be used from many threads: each call runs in its own
    transaction, on a pooled connection (appends share the few the store keeps for them:
    :data:`~legato.store.sql.kept.KEEP`, however many threads append over its life).
    Several processes may share one database. Do not carry a store across ``fork``: open a
    new one in the child.

    Once its appends have planned ``offload_from`` tasks (:data:`OFFLOAD_FROM`), the store
    starts a child process that makes its appends from then on
    (:mod:`legato.store.sql.offload`; same transactions, same errors; :meth:`start_offload`
    starts it at once); ``offload_from=None`` keeps every append in this process.

    A ``read_only`` store (:mod:`legato.store.sql.readonly`) creates and upgrades nothing,
    and the database refuses its writes: commands that only read open one, so that they
    work on a store they may not write.
    """

    def __init__(
        self,
        url: str,
        *,
        upgrade_schema: bool = True,
        offload_from: int | None = OFFLOAD_FROM,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.read_only = read_only
        """Whether the store was opened only to read."""
        self._engine = read_only_engine(url) if read_only else make_engine(url)
        self._dialect = self._engine.dialect.name
        self._appender = Appender(self._engine, self._where)
        self._tx = Transactions(self._engine, f"the run store at {self._where}")
        self._offloading = Offloading(
            self._engine,
            self._appender,
            self._tx,
            self._where,
            start_from=None if read_only else offload_from,
        )
        self._models = SqlModelStore(Transactions(self._engine, f"the registry at {self._where}"))
        if upgrade_schema or read_only:
            try:
                if read_only:
                    check_schema(self._engine, self._where)
                else:
                    upgrade(self._engine)
            except StoreError:
                self._engine.dispose()
                raise
            except self._tx.errors as exc:
                self._engine.dispose()
                raise StoreError(f"cannot open the run store at {self._where}: {exc}") from exc

    @property
    def _where(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def models(self) -> SqlModelStore:
        """The model registry, in the same database."""
        return self._models

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for tools and tests; the store's own settings applied)."""
        return self._engine

    # -- runs ------------------------------------------------------------------------------

    def create_run(self, run: RunInfo) -> None:
        """Record a new run and its pipeline version; ``RunExistsError`` if the id is taken."""
        params, environment = reads.storable(run)
        insert = dialect_insert(self._dialect)
        with self._tx.write(f"creating run {run.run_id!r}") as c:
            c.execute(
                insert(pipelines)
                .values(name=run.pipeline, created_at=run.created_at)
                .on_conflict_do_nothing()
            )
            c.execute(
                insert(pipeline_versions)
                .values(
                    pipeline=run.pipeline,
                    fingerprint=run.fingerprint,
                    first_seen_at=run.created_at,
                    first_run_id=run.run_id,
                )
                .on_conflict_do_nothing()
            )
            created = c.execute(
                insert(runs)
                .values(
                    run_id=run.run_id,
                    pipeline=run.pipeline,
                    target=run.target,
                    fingerprint=run.fingerprint,
                    state=run.state.value,
                    params=params,
                    executor=run.executor,
                    created_at=run.created_at,
                    ended_at=run.ended_at,
                    heartbeat_at=run.heartbeat_at,
                    owner=run.owner,
                    epoch=run.epoch,
                    reason=run.reason,
                    environment=environment,
                    last_seq=0,
                )
                .on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True)
            )
            if created.rowcount != 1:
                raise RunExistsError(f"a run with id {run.run_id!r} exists already")

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id, or the only one whose id starts with it."""
        return self._tx.read(f"reading run {run_id!r}", partial(reads.run, run_id, self._where))

    def list_runs(
        self, *, pipeline: str | None = None, state: RunState | None = None, limit: int = 50
    ) -> list[RunInfo]:
        """Runs, newest first (by creation time, then id)."""
        query = sa.select(runs).order_by(runs.c.created_at.desc(), runs.c.run_id.desc())
        if pipeline is not None:
            query = query.where(runs.c.pipeline == pipeline)
        if state is not None:
            query = query.where(runs.c.state == state.value)
        query = query.limit(max(limit, 0))
        return self._tx.read(
            "listing runs", lambda c: [reads.run_info(row) for row in c.execute(query)]
        )

    def find_runs(self, query: RunQuery) -> RunPage:
        """One page of the runs ``query`` selects, in one statement
        (:mod:`legato.store.sql.queries`)."""
        statement = find_runs_statement(query, self._dialect, dumps)

        def work(c: sa.Connection) -> RunPage:
            rows = list(c.execute(statement))
            page = rows[: query.page_size]
            return RunPage(runs=tuple(map(reads.run_info, page)), next=next_cursor(rows, query))

        return self._tx.read("searching runs", work)

    def heartbeat(self, run_id: str, owner: str) -> None:
        """Renew ``owner``'s lease on the run (stamped with the database's clock);
        ``FencedError`` if it no longer owns the run."""
        with self._tx.write(f"heartbeat of run {run_id!r}") as c:
            done = c.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id, runs.c.owner == owner)
                .values(heartbeat_at=db_now(self._dialect))
            )
            if done.rowcount != 1:
                self._not_owner(c, run_id)

    def request_cancel(self, run_id: str, reason: str) -> RunInfo:
        """Record a cancel request for the run (see :meth:`RunStore.request_cancel`)."""
        exact = self.get_run(run_id).run_id  # a prefix names one run, or fails
        with self._tx.write(f"asking run {run_id!r} to cancel") as c:
            c.execute(
                sa.update(runs)
                .where(
                    runs.c.run_id == exact,
                    runs.c.cancel_requested_at.is_(None),
                    runs.c.state.not_in([s.value for s in RUN_TERMINAL]),
                )
                .values(cancel_requested_at=db_now(self._dialect), cancel_reason=reason)
            )
            return reads.run_info(c.execute(sa.select(runs).where(runs.c.run_id == exact)).one())

    def cancel_requested(self, run_id: str) -> str | None:
        """The reason of a cancel request for the run not yet ended, or None."""

        def work(c: sa.Connection) -> str | None:
            row = c.execute(
                sa.select(runs.c.cancel_requested_at, runs.c.cancel_reason).where(
                    runs.c.run_id == run_id
                )
            ).first()
            if row is None or row.cancel_requested_at is None:
                return None
            return str(row.cancel_reason or "cancelled")

        return self._tx.read(f"reading run {run_id!r}", work)

    def take_over(
        self, run_id: str, owner: str, *, lease: float, seen: RunInfo | None = None
    ) -> RunInfo:
        """Make ``owner`` the run's orchestrator (see :meth:`RunStore.take_over`): read,
        judged and changed in one write transaction, on the database's clock."""
        with self._tx.write(f"taking over run {run_id!r}") as c:
            row = c.execute(
                sa.select(runs, db_now(self._dialect).label("db_now"))
                .where(runs.c.run_id == run_id)
                .with_for_update(of=runs)
            ).first()
            if row is None:
                raise UnknownRunError(unknown_run_message(run_id, self._where))
            info = reads.run_info(row)
            if info.owner == owner:
                return info
            refuse_take_over(info, seen, lease, row.db_now)
            c.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id)
                .values(
                    owner=owner,
                    epoch=runs.c.epoch + 1,
                    heartbeat_at=db_now(self._dialect),
                    state=RunState.RUNNING.value,
                    # A request to cancel was for the run as it was; its new owner was asked
                    # to continue it.
                    cancel_requested_at=None,
                    cancel_reason=None,
                )
            )
            row = c.execute(sa.select(runs).where(runs.c.run_id == run_id)).one()
            return reads.run_info(row)

    # -- events ----------------------------------------------------------------------------

    def append(
        self,
        run_id: str,
        owner: str,
        events: Sequence[Event],
        tracked: Sequence[Tracked] = (),
    ) -> None:
        """Commit ``events`` with their projection, artifacts, cache entries, heartbeat and
        tracked values, in one transaction (see :class:`~legato.store.base.RunStore`)."""
        for record in tracked:
            if record.run_id != run_id:
                raise StoreError(
                    f"a tracked value of run {record.run_id!r} cannot be appended to run {run_id!r}"
                )
        if not events:
            if not tracked:
                self._appender.check_owner(run_id, owner)
                return
            batch = Batch(run_id=run_id, first_seq=0, last_seq=0, last_at=tracked[-1].at)
            batch.metrics, batch.values = tracked_rows(run_id, tracked)
            self._appender.append_tracked(batch, owner)
            return
        check_batch(run_id, events[0].seq - 1, events)
        process = self._offloading.ready_for(events)
        if (
            process is not None
            and len(events) >= OFFLOAD_MIN_EVENTS
            and self._offloading.append(process, run_id, owner, events, tracked)
        ):
            return
        batch = plan_batch(run_id, events)
        if tracked:
            batch.metrics, batch.values = tracked_rows(run_id, tracked)
        self._appender.append(batch, owner)

    def start_offload(self, *, wait: bool = False) -> bool:
        """Start the append process now (for a long-lived process that will run big
        pipelines); with ``wait``, return once it is ready. Whether it is ready."""
        process = self._offloading.start()
        if process is None:
            return False
        return process.wait_ready() if wait else process.ready

    def _not_owner(self, c: sa.Connection, run_id: str) -> None:
        """Raise why a write fenced by the run's owner changed nothing."""
        row = c.execute(
            sa.select(runs.c.owner, runs.c.epoch).where(runs.c.run_id == run_id)
        ).first()
        if row is None:
            raise UnknownRunError(unknown_run_message(run_id, self._where))
        raise FencedError(fenced_message(run_id, row.owner, row.epoch))

    # -- cache -----------------------------------------------------------------------------

    def lookup_cache(self, keys: Sequence[str]) -> dict[str, CacheHit]:
        """The newest entry for each key that has one (one query per 500 keys)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        found: dict[str, CacheHit] = {}
        for key, output, run_id, task_key, created_at, inline in self._appender.lookup_cache(
            unique, _CHUNK
        ):
            if key not in found:  # the newest entry comes first
                found[key] = CacheHit(
                    key=key,
                    output=reads.output_ref(output, inline),
                    run_id=run_id,
                    task=task_key,
                    created_at=created_at,
                )
        return found

    def clear_cache(self, *, task: str | None = None) -> int:
        """Forget all entries, or those of one task (its name, or its key in a run)."""
        statement = sa.delete(cache_entries)
        if task is not None:
            statement = statement.where(
                sa.or_(cache_entries.c.task_name == task, cache_entries.c.task_key == task)
            )
        with self._tx.write("clearing the cache") as c:
            return int(c.execute(statement).rowcount)

    def task_names(self) -> list[str]:
        """The names of every task of any run and of cache entries, sorted (two scans)."""
        query = sa.union(sa.select(task_runs.c.name), sa.select(cache_entries.c.task_name))
        return self._tx.read(
            "listing task names", lambda c: sorted(str(name) for (name,) in c.execute(query))
        )

    # -- logs ------------------------------------------------------------------------------

    def append_logs(self, entries: Sequence[LogEntry]) -> None:
        """Store captured output; each entry gets the next sequence number."""
        if not entries:
            return
        wanted = {e.run_id for e in entries}
        with self._tx.write("storing logs") as c:
            known = set(
                c.execute(sa.select(runs.c.run_id).where(runs.c.run_id.in_(wanted))).scalars()
            )
            for run_id in sorted(wanted - known):
                raise UnknownRunError(unknown_run_message(run_id, self._where))
            c.execute(sa.insert(logs), log_rows(entries, partial(log_reads.log_size, c=c)))

    def close(self) -> None:
        """Close the pooled connections and stop the append process (a later call opens new
        ones)."""
        self._offloading.close()
        self._appender.close()
        self._engine.dispose()
