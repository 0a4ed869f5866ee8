"""Experiment tracking (parameters, metrics, tags and artifacts of task attempts) and the
model registry (models, versions, aliases and the history of alias changes).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Written out here rather than imported from legato.store.sql.catalog: a migration is frozen
# once released, whatever the current tables become.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tracking and registry tables; existing tables are untouched."""
    op.create_table(
        "tracked_metrics",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("map_index", sa.Integer),
        sa.Column("value", sa.Float),
        sa.Column("at", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "tracked_values",
        sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("map_index", sa.Integer),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "models",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("name", sa.Text, sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("artifact", sa.Text, nullable=False),
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
        sa.UniqueConstraint("name", "run_id", "task_key", name="uq_model_versions_origin"),
    )
    op.create_table(
        "model_aliases",
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
    op.create_table(
        "alias_changes",
        sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("previous", sa.Integer),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_alias_changes_name_alias", "alias_changes", ["name", "alias", "id"])


def downgrade() -> None:
    """Drop the tables this revision created, dependents first."""
    for table in (
        "alias_changes",
        "model_aliases",
        "model_versions",
        "models",
        "tracked_values",
        "tracked_metrics",
    ):
        op.drop_table(table)
