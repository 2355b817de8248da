"""Drafts on queue items (language, subject, body) and follow-ups as steps with due times.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_queue_items") as batch:
        batch.add_column(sa.Column("language", sa.String(16)))
        batch.add_column(sa.Column("message_subject", sa.Text))
        batch.add_column(sa.Column("message_body", sa.Text))
        batch.add_column(sa.Column("channels", sa.JSON))
        batch.add_column(sa.Column("draft_context", sa.JSON))
        batch.add_column(sa.Column("due_at", sa.DateTime))
        batch.add_column(sa.Column("step", sa.String(16), nullable=False, server_default="contact"))
        batch.add_column(sa.Column("attempt", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("follows_item_id", sa.Integer))
        batch.create_index("ix_outreach_queue_items_due", ["state", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("outreach_queue_items") as batch:
        batch.drop_index("ix_outreach_queue_items_due")
        for column in (
            "follows_item_id",
            "attempt",
            "step",
            "due_at",
            "draft_context",
            "channels",
            "message_body",
            "message_subject",
            "language",
        ):
            batch.drop_column(column)
