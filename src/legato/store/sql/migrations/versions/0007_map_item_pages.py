"""A page of a map's items without a scan of its run.

- ``ix_task_runs_items``: a run's items of one mapped task by map index, so that a page of a
  100,000-item map's list (``RunStore.map_items``) is an index range, not a sort of every
  task the run has, and the items are counted from the index alone. Partial (map items
  only) and of columns an item's transitions never change: its state's updates do not
  touch it; only an item's first write (when the map expands) adds to it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the index."""
    items = sa.text("parent IS NOT NULL")
    op.create_index(
        "ix_task_runs_items",
        "task_runs",
        ["run_id", "parent", "mapped", "map_index"],
        sqlite_where=items,
        postgresql_where=items,
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_task_runs_items", "task_runs")
