"""The tables of the model registry (migration 0002): models, their versions and aliases,
and the history of every alias change."""

from __future__ import annotations

import sqlalchemy as sa

from legato.store.sql.catalog import SERIAL, metadata

__all__ = [
    "alias_changes",
    "model_aliases",
    "model_versions",
    "models",
]

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
    sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
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
