"""Every move of a queue item recorded with who acted and whose claim it was (a supervisor moving
someone else's claim leaves both names); items queued before drafts existed (before 0004) say what
they are: English (the only language then), their own channel as the consented one, due by their
team's service level.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# What the service levels were when drafts arrived (playbooks.yaml of 0004); a team it does not
# name is due a day after its queue date.
SERVICE_LEVEL_HOURS = {
    "service-recovery": 8,
    "customer-care": 24,
    "marketing": 48,
    "account-management": 24,
}


def upgrade() -> None:
    op.create_table(
        "outreach_item_moves",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("moved_at", sa.DateTime, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(128), nullable=False),
        sa.Column("claimant", sa.String(128)),
        sa.Column("supervised", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_outreach_item_moves_item", "outreach_item_moves", ["item_id", "moved_at"])

    items = sa.table(
        "outreach_queue_items",
        sa.column("id", sa.Integer),
        sa.column("queue_date", sa.Date),
        sa.column("team", sa.String),
        sa.column("channel", sa.String),
        sa.column("state", sa.String),
        sa.column("language", sa.String),
        sa.column("channels", sa.JSON),
        sa.column("due_at", sa.DateTime),
    )
    connection = op.get_bind()
    before_drafts = items.c.language.is_(None)
    # Still open: an agent will work them, so they get a channel to retry on and a due time.
    still_open = connection.execute(
        sa.select(items.c.id, items.c.queue_date, items.c.team, items.c.channel).where(
            before_drafts, items.c.state.in_(("queued", "claimed", "contacted"))
        )
    ).all()
    for item_id, queue_date, team, channel in still_open:
        hours = SERVICE_LEVEL_HOURS.get(team, 24)
        connection.execute(
            sa.update(items)
            .where(items.c.id == item_id)
            .values(
                channels=[channel],
                due_at=datetime.combine(queue_date, time.min) + timedelta(hours=hours),
            )
        )
    # Their reason was written in English, the only language before 0004.
    connection.execute(sa.update(items).where(before_drafts).values(language="en"))


def downgrade() -> None:
    op.drop_index("ix_outreach_item_moves_item", table_name="outreach_item_moves")
    op.drop_table("outreach_item_moves")
