"""The queue store's tables (SQLAlchemy Core). Alembic migrations in `outreach/migrations/` create them;
these definitions are what the store queries and must match the latest migration."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

QUEUE_ITEMS = "outreach_queue_items"
CONTROL_MEMBERS = "outreach_control_members"
RUNS = "outreach_runs"
HISTORY = "outreach_history"
MOVES = "outreach_item_moves"
VERSION_TABLE = "outreach_alembic_version"

metadata = MetaData()

queue_items = Table(
    QUEUE_ITEMS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue_date", Date, nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("team", String(64), nullable=False),
    Column("playbook", String(128), nullable=False),
    Column("action", String(256), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("reason_code", String(64)),
    Column("reason_sentence", Text, nullable=False),
    Column("churn_probability", Float, nullable=False),
    Column("expected_value", Float, nullable=False),
    Column("value_at_risk", Float, nullable=False),
    Column("expected_saving", Float),
    Column("priority_rank", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_at", DateTime),
    Column("contacted_by", String(128)),
    Column("contacted_at", DateTime),
    Column("outcome_by", String(128)),
    Column("outcome_at", DateTime),
    Column("notes", Text),
    Column("playbook_version", String(64), nullable=False),
    Column("model_version", String(128)),
    Column("created_at", DateTime, nullable=False),
    # 0004: the draft in the customer's language, and follow-ups as steps with due times
    Column("language", String(16)),
    Column("message_subject", Text),
    Column("message_body", Text),
    Column("channels", JSON),  # consented channels of the playbook, in order (retries walk them)
    Column("draft_context", JSON),  # the customer's reasons and facts the draft was made from
    Column("due_at", DateTime),
    Column("step", String(16), nullable=False, server_default="contact"),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("follows_item_id", Integer),
    UniqueConstraint("queue_date", "customer_id", name="uq_outreach_queue_items_date_customer"),
    Index("ix_outreach_queue_items_claim", "team", "state", "queue_date", "priority_rank"),
    Index("ix_outreach_queue_items_customer", "customer_id"),
    Index("ix_outreach_queue_items_due", "state", "due_at"),
)

control_members = Table(
    CONTROL_MEMBERS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue_date", Date, nullable=False),
    Column("period", String(16), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("team", String(64), nullable=False),
    Column("playbook", String(128), nullable=False),
    Column("churn_probability", Float, nullable=False),
    Column("value_at_risk", Float, nullable=False),
    Column("expected_saving", Float),
    Column("playbook_version", String(64), nullable=False),
    Column("model_version", String(128)),
    UniqueConstraint("queue_date", "customer_id", name="uq_outreach_control_members_date_customer"),
    Index("ix_outreach_control_members_customer", "customer_id"),
)

runs = Table(
    RUNS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue_date", Date, nullable=False, unique=True),
    Column("period", String(16), nullable=False),
    Column("scored", Integer, nullable=False),
    Column("queued", Integer, nullable=False),
    Column("control_group", Integer, nullable=False),
    Column("below_min_probability", Integer, nullable=False),
    Column("no_consented_channel", Integer, nullable=False),
    Column("cooldown", Integer, nullable=False),
    Column("over_capacity", Integer, nullable=False),
    Column("no_actionable_reason", Integer, nullable=False, server_default="0"),
    Column("silent_since_contact", Integer, nullable=False, server_default="0"),
    Column("no_playbook_saves", Integer, nullable=False, server_default="0"),
    Column("saving_source", Text),
    Column("expired", Integer, nullable=False),
    Column("queued_by_team", JSON, nullable=False),
    Column("playbook_version", String(64), nullable=False),
    Column("model_version", String(128)),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False),
)

history = Table(
    HISTORY,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(128), nullable=False),
    Column("contacted_at", DateTime, nullable=False),
    Column("item_id", Integer),
    Column("queue_date", Date),
    Column("team", String(64)),
    Column("channel", String(16)),
    Column("action", String(256)),
    Column("agent", String(128)),
    Index("ix_outreach_history_customer_time", "customer_id", "contacted_at"),
)

# 0005: every recorded move of an item: who acted (bound to their key) and whose claim it was
item_moves = Table(
    MOVES,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, nullable=False),
    Column("moved_at", DateTime, nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("claimant", String(128)),
    Column("supervised", Boolean, nullable=False, server_default=false()),
    Index("ix_outreach_item_moves_item", "item_id", "moved_at"),
)
