"""Metric summaries: what a comparison and the runs list's metric sort read.

- ``metric_summaries``: per series (run, task key, attempt, metric name) its count and its
  points at the highest step and with the lowest and highest value (the lowest step on a
  tie; NaN is neither), so that comparing 200 runs reads a few rows per series, not every
  step;
- ``run_metric_values``: a run's value of each metric name (its latest attempt's, at the
  highest step, the last task key's on a tie), indexed by (name, value, run id), so that the
  runs list sorted by a metric walks the index instead of seeking each run.

Both are filled here from the existing ``tracked_metrics`` rows; from then on the store
writes them in the transaction that writes the values.

Revision ID: 0006 (0005 is another line of work's; this one follows 0004)
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_SERIES = "run_id, key, attempt, name"
_ENDS = ("last", "low", "high")


def upgrade() -> None:
    """Create both tables and fill them."""
    ends = [
        sa.Column(f"{end}_{part}", kind)
        for end in _ENDS
        for part, kind in (
            ("step", sa.BigInteger),
            ("value", sa.Float),
            ("at", sa.Float),
            ("map_index", sa.Integer),
        )
    ]
    op.create_table(
        "metric_summaries",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        *ends,
        sqlite_with_rowid=False,
    )
    op.create_table(
        "run_metric_values",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Float),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_run_metric_values_name_value", "run_metric_values", ["name", "value", "run_id"]
    )
    _backfill()


def _backfill() -> None:
    """One pass of window functions over ``tracked_metrics``: each series' rows ranked by
    step (last), by value up and down (the lowest step on a tie; NULL, a NaN, after all)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    # Task keys compare byte by byte (as Python compares them), not by the locale.
    key = 'key COLLATE "C"' if postgres else "key"
    part = f"partition by {_SERIES}"
    columns = ", ".join(f"{e}.step, {e}.value, {e}.at, {e}.map_index" for e in _ENDS)
    names = ", ".join(f"{e}_step, {e}_value, {e}_at, {e}_map_index" for e in _ENDS)
    joins = " ".join(
        f"{'left join' if e != 'last' else 'join'} ranked {e} on {e}.run_id = g.run_id"
        f" and {e}.key = g.key and {e}.attempt = g.attempt and {e}.name = g.name"
        f" and {e}.r_{e} = 1" + ("" if e == "last" else f" and {e}.value is not null")
        for e in _ENDS
    )
    op.execute(
        "with ranked as (select *,"
        f" row_number() over ({part} order by step desc) as r_last,"
        f" row_number() over ({part} order by case when value is null then 1 else 0 end,"
        " value, step) as r_low,"
        f" row_number() over ({part} order by case when value is null then 1 else 0 end,"
        " value desc, step) as r_high"
        " from tracked_metrics),"
        f" g as (select {_SERIES}, count(*) as n from tracked_metrics group by {_SERIES})"
        f" insert into metric_summaries ({_SERIES}, count, {names})"
        f" select g.run_id, g.key, g.attempt, g.name, g.n, {columns} from g {joins}"
    )
    op.execute(
        "insert into run_metric_values (run_id, name, attempt, step, key, value)"
        " select run_id, name, attempt, step, key, value from (select *, row_number() over"
        f" (partition by run_id, name order by attempt desc, step desc, {key} desc) as r"
        " from tracked_metrics) as ranked where r = 1"
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_run_metric_values_name_value", "run_metric_values")
    op.drop_table("run_metric_values")
    op.drop_table("metric_summaries")
