"""The run tables: runs, their events and task records, artifacts, the cache and captured
output.

These are the tables of the first migration (0001), with the columns and indexes later ones
gave them (0003: cancel requests; 0004: log byte offsets and the partial indexes of a run's
plan and cache hits; 0007: pages of a map's items); every run writes them. The tables of
later features are defined beside them, on the same ``metadata``:
:mod:`~legato.store.sql.tracking_tables`, :mod:`~legato.store.sql.registry_tables`,
:mod:`~legato.store.sql.schedule_tables`.
"""

from __future__ import annotations

import sqlalchemy as sa

from legato.store.sql.catalog import SERIAL, metadata, partial_index

__all__ = [
    "artifacts",
    "cache_entries",
    "events",
    "logs",
    "pipeline_versions",
    "pipelines",
    "runs",
    "task_runs",
]

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
    sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
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
    sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
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
