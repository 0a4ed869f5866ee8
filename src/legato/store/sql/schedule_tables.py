"""The tables of schedules and backfills (migration 0005): see :mod:`legato.model.schedules`.

Instants are whole seconds (UTC).
"""

from __future__ import annotations

import sqlalchemy as sa

from legato.store.sql.catalog import metadata

__all__ = [
    "schedule_backfills",
    "schedule_files",
    "schedule_ticks",
    "scheduler_leases",
    "schedules",
]

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
