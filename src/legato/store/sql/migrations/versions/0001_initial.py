"""The first schema: pipelines, runs, the event log, the task projection, artifacts, cache
entries and logs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Tables keyed by text are clustered on that key in SQLite (WITHOUT ROWID): one b-tree to
# write per row instead of a table and an index.
# Written out here rather than imported from legato.store.sql.catalog: a migration is frozen
# once released, whatever the current tables become.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "pipelines",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "pipeline_versions",
        sa.Column("pipeline", sa.Text, sa.ForeignKey("pipelines.name"), primary_key=True),
        sa.Column("fingerprint", sa.Text, primary_key=True),
        sa.Column("first_seen_at", sa.Float, nullable=False),
        sa.Column("first_run_id", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
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
        sa.Column("last_seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_pipeline_created_at", "runs", ["pipeline", "created_at"])
    op.create_index("ix_runs_state_created_at", "runs", ["state", "created_at"])
    op.create_table(
        "events",
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
    op.create_table(
        "task_runs",
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
        sa.Column("error_detail", sa.Text),
        sa.Column("output", sa.Text),
        sa.Column("output_checksum", sa.Text),
        sa.Column("cache_key", sa.Text),
        sa.Column("cache_hit", sa.Text),
        sa.Column("cache_parts", sa.Text),
        sa.Column("ord_seq", sa.Integer, nullable=False),
        sa.Column("ord_idx", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "artifacts",
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
    op.create_table(
        "cache_entries",
        sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("checksum", sa.Text, sa.ForeignKey("artifacts.checksum"), nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("task_key", sa.Text, nullable=False),
        sa.Column("task_name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_cache_entries_key", "cache_entries", ["key", "created_at"])
    op.create_table(
        "logs",
        sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_logs_run_id_seq", "logs", ["run_id", "seq"])


def downgrade() -> None:
    """Drop every table, dependents first."""
    for table in (
        "logs",
        "cache_entries",
        "artifacts",
        "task_runs",
        "events",
        "runs",
        "pipeline_versions",
        "pipelines",
    ):
        op.drop_table(table)
