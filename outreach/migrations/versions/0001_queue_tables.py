"""Queue items, control group members, daily runs and outreach history.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_queue_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("queue_date", sa.Date, nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("playbook", sa.String(128), nullable=False),
        sa.Column("action", sa.String(256), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("reason_sentence", sa.Text, nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("expected_value", sa.Float, nullable=False),
        sa.Column("value_at_risk", sa.Float, nullable=False),
        sa.Column("priority_rank", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("contacted_by", sa.String(128)),
        sa.Column("contacted_at", sa.DateTime),
        sa.Column("outcome_by", sa.String(128)),
        sa.Column("outcome_at", sa.DateTime),
        sa.Column("notes", sa.Text),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(128)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint(
            "queue_date", "customer_id", name="uq_outreach_queue_items_date_customer"
        ),
    )
    op.create_index(
        "ix_outreach_queue_items_claim",
        "outreach_queue_items",
        ["team", "state", "queue_date", "priority_rank"],
    )
    op.create_index("ix_outreach_queue_items_customer", "outreach_queue_items", ["customer_id"])

    op.create_table(
        "outreach_control_members",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("queue_date", sa.Date, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("playbook", sa.String(128), nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("value_at_risk", sa.Float, nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(128)),
        sa.UniqueConstraint(
            "queue_date", "customer_id", name="uq_outreach_control_members_date_customer"
        ),
    )
    op.create_index(
        "ix_outreach_control_members_customer", "outreach_control_members", ["customer_id"]
    )

    op.create_table(
        "outreach_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("queue_date", sa.Date, nullable=False, unique=True),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("scored", sa.Integer, nullable=False),
        sa.Column("queued", sa.Integer, nullable=False),
        sa.Column("control_group", sa.Integer, nullable=False),
        sa.Column("below_min_probability", sa.Integer, nullable=False),
        sa.Column("no_consented_channel", sa.Integer, nullable=False),
        sa.Column("cooldown", sa.Integer, nullable=False),
        sa.Column("over_capacity", sa.Integer, nullable=False),
        sa.Column("expired", sa.Integer, nullable=False),
        sa.Column("queued_by_team", sa.JSON, nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(128)),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
    )

    op.create_table(
        "outreach_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("contacted_at", sa.DateTime, nullable=False),
        sa.Column("item_id", sa.Integer),
        sa.Column("queue_date", sa.Date),
        sa.Column("team", sa.String(64)),
        sa.Column("channel", sa.String(16)),
        sa.Column("action", sa.String(256)),
        sa.Column("agent", sa.String(128)),
    )
    op.create_index(
        "ix_outreach_history_customer_time", "outreach_history", ["customer_id", "contacted_at"]
    )


def downgrade() -> None:
    op.drop_table("outreach_history")
    op.drop_table("outreach_runs")
    op.drop_table("outreach_control_members")
    op.drop_table("outreach_queue_items")
