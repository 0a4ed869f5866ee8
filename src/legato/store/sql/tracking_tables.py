"""The tables of what tasks tracked (migration 0002), and the summaries read from them (0006).

Tracked values are written in the run's group commits, beside its events. The summaries
are written in the transaction that writes the values they sum up: they are what a
comparison of many runs and the runs list's metric sort read, so that neither reads every
step of every series.
"""

from __future__ import annotations

import sqlalchemy as sa

from legato.store.sql.catalog import metadata

__all__ = [
    "metric_summaries",
    "run_metric_values",
    "tracked_metrics",
    "tracked_values",
]

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
