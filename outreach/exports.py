"""CSV views of the queues for agents and the shop's tools: a day's items, its control group, claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from common.spreadsheet import csv_text, write_csv
from outreach.records import QueueItem
from outreach.store import OutreachStore

ITEM_EXPORT_COLUMNS = (
    "id",
    "queue_date",
    "customer_id",
    "team",
    "priority_rank",
    "channel",
    "action",
    "playbook",
    "reason_code",
    "reason",
    "churn_probability",
    "expected_saving",
    "expected_value",
    "value_at_risk",
    "state",
    "claimed_by",
    "claimed_at",
    "contacted_by",
    "contacted_at",
    "outcome_by",
    "outcome_at",
    "notes",
    "playbook_version",
    "model_version",
    "language",
    "message_subject",
    "message_body",
    "step",
    "attempt",
    "due_at",
    "follows_item_id",
)
CONTROL_EXPORT_COLUMNS = (
    "customer_id",
    "queue_date",
    "period",
    "team",
    "playbook",
    "churn_probability",
    "expected_saving",
)


def _item_frame(items: pd.DataFrame) -> pd.DataFrame:
    return items.rename(columns={"reason_sentence": "reason"}).loc[:, list(ITEM_EXPORT_COLUMNS)]


def export_items(store: OutreachStore, queue_date: date, out: Path) -> int:
    """Write every item of `queue_date` (any state) to a CSV file; returns how many rows."""
    frame = _item_frame(store.items(queue_date))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame, out)
    return len(frame)


def export_control(store: OutreachStore, queue_date: date, out: Path) -> int:
    """Write the control group of `queue_date` (never to be contacted for this test) to a CSV file."""
    frame = store.control_group(queue_date).loc[:, list(CONTROL_EXPORT_COLUMNS)]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame, out)
    return len(frame)


def items_csv(items: Sequence[QueueItem]) -> str:
    """Items as CSV text with a header (what `churnguard queue claim` prints)."""
    frame = pd.DataFrame(
        [item.model_dump(mode="json") for item in items],
        columns=[*ITEM_EXPORT_COLUMNS[:9], "reason_sentence", *ITEM_EXPORT_COLUMNS[10:]],
    )
    return csv_text(_item_frame(frame))
