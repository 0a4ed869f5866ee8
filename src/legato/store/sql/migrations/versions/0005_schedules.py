"""Schedules: their declarations and next due instants, their ticks (one row per schedule,
origin and nominal instant: the key that makes one run per instant), backfills, and the
lease that lets one scheduler act on a SQLite store; the files a file trigger has seen.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the schedule tables; existing tables are untouched."""
    op.create_table(
        "schedules",
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
    op.create_table(
        "schedule_ticks",
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
    )
    op.create_index(
        "ix_schedule_ticks_status",
        "schedule_ticks",
        ["status", "schedule", "origin", "nominal"],
    )
    op.create_table(
        "schedule_backfills",
        sa.Column("backfill_id", sa.Text, primary_key=True),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("start", sa.BigInteger, nullable=False),
        sa.Column("end", sa.BigInteger, nullable=False),
        sa.Column("max_active", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("cancelled_at", sa.Float),
    )
    op.create_table(
        "schedule_files",
        sa.Column("schedule", sa.Text, primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("fired", sa.Boolean, nullable=False),
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop the schedule tables (schedules, ticks and backfills are lost with them)."""
    op.drop_table("scheduler_leases")
    op.drop_table("schedule_files")
    op.drop_table("schedule_backfills")
    op.drop_index("ix_schedule_ticks_status", table_name="schedule_ticks")
    op.drop_table("schedule_ticks")
    op.drop_table("schedules")
