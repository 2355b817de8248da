"""Expected saving on queue items and control members; the silent_since_contact and
no_playbook_saves rules and the source of the savings (uplift model or prior) on each run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("outreach_queue_items", "outreach_control_members"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("expected_saving", sa.Float, nullable=True))
    with op.batch_alter_table("outreach_runs") as batch:
        for rule in ("silent_since_contact", "no_playbook_saves"):
            batch.add_column(sa.Column(rule, sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("saving_source", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_runs") as batch:
        batch.drop_column("saving_source")
        batch.drop_column("no_playbook_saves")
        batch.drop_column("silent_since_contact")
    for table in ("outreach_queue_items", "outreach_control_members"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("expected_saving")
