"""Cancel requests: a run can be asked to cancel through the store (from another process or
machine, the CLI or the API), and its orchestrator reads the request.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the two nullable request columns to ``runs``; existing rows have none."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("cancel_requested_at", sa.Float))
        batch.add_column(sa.Column("cancel_reason", sa.Text))


def downgrade() -> None:
    """Drop the request columns (a pending request is lost with them)."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancel_requested_at")
