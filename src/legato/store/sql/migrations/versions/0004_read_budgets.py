"""What the API's budgets need of the store: a log's byte offsets, and a run's metric by name.

- ``logs.end_byte``: the bytes (UTF-8) an attempt's output is up to and including each entry,
  so that a byte window of a million-line log (its tail first) is an index range instead of
  the whole log; existing rows are numbered here, in their order.
- ``ix_tracked_metrics_run_name``: a run's value of a metric, which the runs list sorts and
  filters on, is one seek instead of a scan of every metric the run logged.
- ``ix_task_runs_planned``, ``ix_task_runs_cache_hits``: a run's plan and its cache hits
  without a scan of its map items; partial indexes, which a map item's changes (the bulk of
  a big run's writes) never touch.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add and fill ``logs.end_byte``, and the two indexes."""
    with op.batch_alter_table("logs") as batch:
        batch.add_column(sa.Column("end_byte", sa.BigInteger))
    size = (
        "octet_length(text)"
        if op.get_bind().dialect.name == "postgresql"
        else "length(cast(text as blob))"
    )
    op.execute(
        "update logs set end_byte = numbered.end_byte from ("
        f"select seq, sum({size}) over (partition by run_id, key, attempt order by seq)"
        " as end_byte from logs) as numbered where logs.seq = numbered.seq"
    )
    op.create_index("ix_logs_attempt_end_byte", "logs", ["run_id", "key", "attempt", "end_byte"])
    op.create_index(
        "ix_tracked_metrics_run_name", "tracked_metrics", ["run_id", "name", "attempt", "step"]
    )
    planned, hits = sa.text("parent IS NULL"), sa.text("cache_hit IS NOT NULL")
    op.create_index(
        "ix_task_runs_planned",
        "task_runs",
        ["run_id", "ord_seq", "ord_idx"],
        sqlite_where=planned,
        postgresql_where=planned,
    )
    op.create_index(
        "ix_task_runs_cache_hits",
        "task_runs",
        ["run_id", "key", "cache_hit"],
        sqlite_where=hits,
        postgresql_where=hits,
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_task_runs_cache_hits", "task_runs")
    op.drop_index("ix_task_runs_planned", "task_runs")
    op.drop_index("ix_tracked_metrics_run_name", "tracked_metrics")
    op.drop_index("ix_logs_attempt_end_byte", "logs")
    with op.batch_alter_table("logs") as batch:
        batch.drop_column("end_byte")
