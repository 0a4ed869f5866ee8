"""The tables of the SQL run store, as SQLAlchemy Core objects.

The migrations in ``migrations/versions`` create these tables; this module is what the store's
statements are built from. ``tests/store/test_sql_schema.py`` compares the two, so a change
here without a migration (or the other way round) fails the tests.

JSON lives in text columns that the store encodes and decodes itself: one encoder for SQLite
and PostgreSQL, and no per-row type processing on the hot path. Times are seconds since the
epoch (floats), as everywhere in legato.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "for_postgresql",
    "partial_index",
    "HEAD",
    "VERSION_TABLE",
    "artifacts",
    "cache_entries",
    "alias_changes",
    "events",
    "logs",
    "metadata",
    "metric_summaries",
    "model_aliases",
    "model_versions",
    "models",
    "pipeline_versions",
    "pipelines",
    "run_metric_values",
    "runs",
    "schedule_backfills",
    "schedule_files",
    "schedule_ticks",
    "scheduler_leases",
    "schedules",
    "task_runs",
    "tracked_metrics",
    "tracked_values",
]

HEAD = "0007"
"""The newest migration; a store whose schema is at it needs no upgrade."""

VERSION_TABLE = "legato_alembic_version"
"""Alembic's bookkeeping table, named apart so that a database shared with an application that
uses Alembic itself keeps both histories."""

metadata = sa.MetaData()


def partial_index(name: str, *columns: str, where: str) -> sa.Index:
    """An index of the rows where ``where`` holds, on SQLite and on PostgreSQL.

    Only the SQLite clause is set here; :func:`for_postgresql` adds the PostgreSQL one when a
    PostgreSQL store is opened. A dialect's keyword (``postgresql_where``) loads that dialect
    as the index is made, and SQLAlchemy's PostgreSQL dialect (with the asyncio its drivers
    import) would cost every SQLite store, so every ``legato`` command, tens of milliseconds.
    """
    return sa.Index(name, *columns, sqlite_where=sa.text(where))


def for_postgresql() -> None:
    """Give every :func:`partial_index` its PostgreSQL clause (the SQLite one, which is
    plain SQL); once, before the first PostgreSQL statement, and again does nothing."""
    for table in metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options["sqlite"]["where"]
            if where is not None:
                index.dialect_kwargs["postgresql_where"] = where


# An autoincrementing 64-bit key that is still SQLite's rowid alias (only INTEGER is).
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

pipeline_versions = sa.Table(
    "pipeline_versions",
    metadata,
    sa.Column("pipeline", sa.Text, sa.ForeignKey("pipelines.name"), primary_key=True),
    sa.Column("fingerprint", sa.Text, primary_key=True),
    sa.Column("first_seen_at", sa.Float, nullable=False),
    sa.Column("first_run_id", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("pipeline", sa.Text, sa.ForeignKey("pipelines.name"), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("executor", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("environment", sa.Text, nullable=False),
    # The seq of the run's last event: appends check and move it in one UPDATE, which is
    # also the owner check (fencing) and the heartbeat.
    sa.Column("last_seq", sa.Integer, nullable=False),
    # A cancel asked for through the store, read by the run's orchestrator (0003).
    sa.Column("cancel_requested_at", sa.Float),
    sa.Column("cancel_reason", sa.Text),
    sa.Index("ix_runs_created_at", "created_at"),
    sa.Index("ix_runs_pipeline_created_at", "pipeline", "created_at"),
    sa.Index("ix_runs_state_created_at", "state", "created_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("key", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("attempt", sa.Integer),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sqlite_with_rowid=False,
)

task_runs = sa.Table(
    "task_runs",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("map_index", sa.Integer),
    sa.Column("parent", sa.Text),
    sa.Column("mapped", sa.Boolean, nullable=False),
    sa.Column("items", sa.Integer),
    sa.Column("started_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("first_started_at", sa.Float),
    sa.Column("ran_for", sa.Float),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("error_type", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("error_traceback", sa.Text),
    sa.Column("error_detail", sa.Text),  # JSON: kind and class names
    sa.Column("output", sa.Text),  # JSON reference without its inline bytes (see artifacts)
    sa.Column("output_checksum", sa.Text),
    sa.Column("cache_key", sa.Text),
    sa.Column("cache_hit", sa.Text),
    sa.Column("cache_parts", sa.Text),  # JSON: what the cache key covered
    # Order of appearance (seq of the event that made the row, index within it).
    sa.Column("ord_seq", sa.Integer, nullable=False),
    sa.Column("ord_idx", sa.Integer, nullable=False),
    # A run's plan and its cache hits, read without a scan of its (maybe 100,000) map items
    # (0004); partial, so that a map item's changes never touch them.
    partial_index(
        "ix_task_runs_planned",
        "run_id",
        "ord_seq",
        "ord_idx",
        where="parent IS NULL",
    ),
    partial_index(
        "ix_task_runs_cache_hits",
        "run_id",
        "key",
        "cache_hit",
        where="cache_hit IS NOT NULL",
    ),
    # A page of a map's items by map index, and their count, without a scan of the run
    # (0007); of columns an item's transitions never change.
    partial_index(
        "ix_task_runs_items",
        "run_id",
        "parent",
        "mapped",
        "map_index",
        where="parent IS NOT NULL",
    ),
    sqlite_with_rowid=False,
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("checksum", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("serializer", sa.Text, nullable=False),
    sa.Column("location", sa.Text),
    sa.Column("inline", sa.LargeBinary),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("producer", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("task_key", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sqlite_with_rowid=False,
)

cache_entries = sa.Table(
    "cache_entries",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("checksum", sa.Text, sa.ForeignKey("artifacts.checksum"), nullable=False),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("task_key", sa.Text, nullable=False),
    sa.Column("task_name", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # No index on task_name: forgetting one task's entries is rare, and scans; every cached
    # success would pay for the index.
    sa.Index("ix_cache_entries_key", "key", "created_at"),
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    # Bytes (UTF-8) the attempt's output is up to and including this entry (0004): a byte
    # window of a log, its tail first, is an index range, never the whole log.
    sa.Column("end_byte", sa.BigInteger),
    sa.Index("ix_logs_run_id_seq", "run_id", "seq"),
    sa.Index("ix_logs_attempt_end_byte", "run_id", "key", "attempt", "end_byte"),
)

# -- 0002: experiment tracking and the model registry -----------------------------------------

tracked_metrics = sa.Table(
    "tracked_metrics",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("map_index", sa.Integer),
    sa.Column("value", sa.Float),  # NULL: NaN (SQLite cannot store NaN)
    sa.Column("at", sa.Float, nullable=False),
    # A run's value of a metric (the runs list's sort and filter) is one seek (0004).
    sa.Index("ix_tracked_metrics_run_name", "run_id", "name", "attempt", "step"),
    sqlite_with_rowid=False,
)

tracked_values = sa.Table(
    "tracked_values",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),  # param, tag or artifact
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("map_index", sa.Integer),
    sa.Column("value", sa.Text, nullable=False),  # JSON
    sa.Column("at", sa.Float, nullable=False),
    sqlite_with_rowid=False,
)

# -- 0006: metric summaries -------------------------------------------------------------------

metric_summaries = sa.Table(
    "metric_summaries",
    metadata,
    # One row per series (a task's attempt's metric): its point at the highest step and its
    # lowest and highest points (NaN is neither; the lowest step wins a tie), written in the
    # transaction that writes its values (legato.store.metric_summary), so that a comparison
    # of hundreds of runs reads a few rows per series instead of every step.
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    *(
        column
        for end in ("last", "low", "high")
        for column in (
            sa.Column(f"{end}_step", sa.BigInteger),
            sa.Column(f"{end}_value", sa.Float),  # NULL: NaN, or no number (low, high)
            sa.Column(f"{end}_at", sa.Float),
            sa.Column(f"{end}_map_index", sa.Integer),
        )
    ),
    sqlite_with_rowid=False,
)

run_metric_values = sa.Table(
    "run_metric_values",
    metadata,
    # A run's value of each metric name (legato.model.run_query.metric_of: its latest
    # attempt's, at the highest step, the last task key's on a tie) and where it comes from,
    # so that the runs list sorted by a metric walks an index instead of seeking every run.
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.Float),  # NULL: NaN
    sa.Index("ix_run_metric_values_name_value", "name", "value", "run_id"),
    sqlite_with_rowid=False,
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    # The last version number handed out: bumped in the registering transaction (a row
    # lock on PostgreSQL, the write lock on SQLite), never reused after a delete.
    sa.Column("last_version", sa.Integer, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.Text, sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("artifact", sa.Text, nullable=False),  # JSON reference without inline bytes
    sa.Column("artifact_inline", sa.LargeBinary),
    sa.Column("run_id", sa.Text),
    sa.Column("task_key", sa.Text),
    sa.Column("attempt", sa.Integer),
    sa.Column("fingerprint", sa.Text),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("signature", sa.Text),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("environment", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # One version per (model, run, task): a retried attempt registers the same version.
    sa.UniqueConstraint("name", "run_id", "task_key", name="uq_model_versions_origin"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("alias", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name="fk_model_aliases_version",
    ),
)

alias_changes = sa.Table(
    "alias_changes",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("previous", sa.Integer),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_alias_changes_name_alias", "name", "alias", "id"),
)

# Schedules (migration 0005): see legato.model.schedules. Instants are whole seconds (UTC).
schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("cron", sa.Text, nullable=False),
    sa.Column("after", sa.Text, nullable=False),
    sa.Column("tz", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("catchup", sa.Text, nullable=False),
    sa.Column("overlap", sa.Text, nullable=False),
    sa.Column("max_active", sa.Integer, nullable=False),
    sa.Column("interval_params", sa.Text, nullable=False),
    sa.Column("declared_in", sa.Text, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("next_due", sa.BigInteger),
    sa.Column("last_nominal", sa.BigInteger),
    sa.Column("since", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
)

schedule_ticks = sa.Table(
    "schedule_ticks",
    metadata,
    sa.Column("schedule", sa.Text, primary_key=True),
    sa.Column("origin", sa.Text, primary_key=True),
    sa.Column("nominal", sa.BigInteger, primary_key=True),
    sa.Column("interval_start", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False, unique=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("launched_at", sa.Float),
    sa.Column("launches", sa.Integer, nullable=False),
    sa.Column("launcher", sa.Text, nullable=False),
    sa.Column("log", sa.Text, nullable=False),
    sa.Index("ix_schedule_ticks_status", "status", "schedule", "origin", "nominal"),
)

schedule_backfills = sa.Table(
    "schedule_backfills",
    metadata,
    sa.Column("backfill_id", sa.Text, primary_key=True),
    sa.Column("schedule", sa.Text, nullable=False),
    sa.Column("start", sa.BigInteger, nullable=False),
    sa.Column("end", sa.BigInteger, nullable=False),
    sa.Column("max_active", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("cancelled_at", sa.Float),
)

schedule_files = sa.Table(
    "schedule_files",
    metadata,
    sa.Column("schedule", sa.Text, primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("changed_at", sa.Float, nullable=False),
    sa.Column("fired", sa.Boolean, nullable=False),
)

scheduler_leases = sa.Table(
    "scheduler_leases",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
