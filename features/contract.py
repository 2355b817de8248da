"""The input contract (v2: adds `contacts`, `customers.language`, `feedback.text_language`): which
tables a shop hands over, their columns, types and allowed values.

The one definition used by the generator (writes it), ingest (validates and loads it) and the
warehouse DDL (stores it). Version it with `common.names.CONTRACT_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from common.names import CONTACTS, CONTRACT_VERSION, CUSTOMERS, DELIVERIES, FEEDBACK, ORDERS

ColumnKind = Literal["string", "timestamp", "number", "integer", "boolean", "category"]

DUCKDB_TYPES: dict[ColumnKind, str] = {
    "string": "VARCHAR",
    "category": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One column of an input table as the shop provides it."""

    name: str
    kind: ColumnKind
    description: str
    required: bool = True  # the column must be present in the file
    nullable: bool = False  # a present column may hold empty values
    allowed: tuple[str, ...] = ()  # for categories
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None  # a regular expression every non-empty value must match
    pattern_meaning: str = ""  # what the pattern means, for error messages

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.kind]

    @property
    def sql(self) -> str:
        """The column as a quoted SQL identifier (`contacts.group` is a keyword)."""
        return f'"{self.name}"'


@dataclass(frozen=True)
class TableContract:
    """An input table: its columns, its id column and whether a shop must provide it."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: str
    required: bool = False
    derived_columns: tuple[Column, ...] = field(default=())  # added by churnguard at ingest

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for column in (*self.columns, *self.derived_columns):
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def warehouse_ddl(self) -> str:
        """CREATE TABLE for the warehouse: contract columns, derived columns, then load lineage."""
        columns = [f"{c.sql} {c.duckdb_type}" for c in (*self.columns, *self.derived_columns)]
        columns += ["_ingest_run_id VARCHAR", "_source_file VARCHAR", "_source_line BIGINT"]
        body = ",\n    ".join(columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n    {body}\n)"


ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
DELIVERY_STATUSES = ("in_transit", "delivered", "failed", "returned")
FEEDBACK_CHANNELS = ("review", "ticket", "survey", "chat", "social")
CONTACT_CHANNELS = ("email", "phone", "sms")
LANGUAGE_TAG_PATTERN = r"^\s*[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*\s*$"
CONTACT_GROUPS = ("treated", "control")

CONTRACT: dict[str, TableContract] = {
    ORDERS: TableContract(
        name=ORDERS,
        description="Every order a customer placed. The only table a shop must provide.",
        key="order_id",
        required=True,
        columns=(
            Column("order_id", "string", "Unique id of the order."),
            Column("customer_id", "string", "Who placed it."),
            Column("ordered_at", "timestamp", "When it was placed (ISO 8601; UTC if no offset)."),
            Column("amount", "number", "Order value in shop currency, >= 0.", minimum=0.0),
            Column(
                "status",
                "category",
                "Current state of the order.",
                required=False,
                nullable=True,
                allowed=ORDER_STATUSES,
            ),
        ),
    ),
    DELIVERIES: TableContract(
        name=DELIVERIES,
        description="Delivery promise and outcome per order.",
        key="order_id",
        columns=(
            Column("order_id", "string", "The order delivered; must exist in orders."),
            Column("promised_at", "timestamp", "Delivery date promised to the customer."),
            Column(
                "delivered_at",
                "timestamp",
                "When it arrived; empty while not delivered.",
                nullable=True,
            ),
            Column(
                "status",
                "category",
                "Current delivery state.",
                required=False,
                nullable=True,
                allowed=DELIVERY_STATUSES,
            ),
        ),
    ),
    FEEDBACK: TableContract(
        name=FEEDBACK,
        description="Ratings, reviews, tickets and other customer voice. A row needs a rating or a text.",
        key="feedback_id",
        columns=(
            Column("feedback_id", "string", "Unique id of the feedback."),
            Column("customer_id", "string", "Who gave it."),
            Column(
                "order_id",
                "string",
                "The order it is about, if any.",
                required=False,
                nullable=True,
            ),
            Column("created_at", "timestamp", "When it was given."),
            Column(
                "channel",
                "category",
                "Where it came from.",
                required=False,
                nullable=True,
                allowed=FEEDBACK_CHANNELS,
            ),
            Column(
                "rating",
                "integer",
                "Stars, 1 to 5.",
                required=False,
                nullable=True,
                minimum=1,
                maximum=5,
            ),
            Column(
                "text",
                "string",
                "Free text, in any language; English and Japanese are scored.",
                required=False,
                nullable=True,
            ),
        ),
        derived_columns=(
            Column(
                "text_language",
                "string",
                "Language of the text (BCP 47, e.g. en, ja), detected offline at ingest.",
                nullable=True,
            ),
            Column(
                "text_sentiment",
                "number",
                "Sentiment of the text, -1 (angry) to 1 (delighted), scored once at ingest; "
                "empty when no scorer reads its language.",
                nullable=True,
                minimum=-1.0,
                maximum=1.0,
            ),
        ),
    ),
    CUSTOMERS: TableContract(
        name=CUSTOMERS,
        description="Who the customers are and how they may be contacted.",
        key="customer_id",
        columns=(
            Column("customer_id", "string", "Unique id of the customer."),
            Column("signup_at", "timestamp", "When they joined.", required=False, nullable=True),
            Column("region", "string", "Delivery region.", required=False, nullable=True),
            Column(
                "preferred_channel",
                "category",
                "How they like to be contacted.",
                required=False,
                nullable=True,
                allowed=CONTACT_CHANNELS,
            ),
            Column("consent_email", "boolean", "May be emailed.", required=False, nullable=True),
            Column("consent_phone", "boolean", "May be called.", required=False, nullable=True),
            Column("consent_sms", "boolean", "May be texted.", required=False, nullable=True),
            Column(
                "language",
                "string",
                "Language to write to them in (BCP 47, e.g. ja, en-GB); empty: their texts' "
                "language, else CHURNGUARD_LANGUAGE.",
                required=False,
                nullable=True,
                pattern=LANGUAGE_TAG_PATTERN,
                pattern_meaning="a BCP 47 language tag such as ja, en or en-GB",
            ),
        ),
    ),
    CONTACTS: TableContract(
        name=CONTACTS,
        description="Outreach history: every customer contacted (treated) or held out (control) in a "
        "campaign or a worked queue. Optional; with it the queue learns what a contact changes.",
        key="contact_id",
        columns=(
            Column("contact_id", "string", "Unique id of the contact (or the hold-out)."),
            Column("customer_id", "string", "Who was contacted or held out."),
            Column(
                "contacted_at",
                "timestamp",
                "When they were contacted; for control rows, when they would have been.",
            ),
            Column(
                "group",
                "category",
                "treated (contacted) or control (held out at random).",
                allowed=CONTACT_GROUPS,
            ),
            Column(
                "playbook",
                "string",
                "The playbook used (or that would have been), as named in playbooks.yaml.",
                required=False,
                nullable=True,
            ),
            Column(
                "channel",
                "category",
                "How they were contacted.",
                required=False,
                nullable=True,
                allowed=CONTACT_CHANNELS,
            ),
            Column(
                "outcome",
                "string",
                "What the contact led to, in the agent's words.",
                required=False,
                nullable=True,
            ),
        ),
    ),
}

__all__ = ["CONTRACT", "CONTRACT_VERSION", "Column", "TableContract"]
