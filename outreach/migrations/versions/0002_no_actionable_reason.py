"""Count customers left out because the model gave no reason for their risk.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_runs") as batch:
        batch.add_column(
            sa.Column("no_actionable_reason", sa.Integer, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_runs") as batch:
        batch.drop_column("no_actionable_reason")
