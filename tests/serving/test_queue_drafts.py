"""Drafts and follow-ups over HTTP: each customer's reason and draft in their language on the work
list, in the export and on the API; edits kept as sent; outcomes schedule the next step; overdue
items first and counted at /metrics."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest

from models.reasons import reason_for

TEAM = "customer-care"
TOMORROW = date.today() + timedelta(days=1)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def late_scored(ids: list[str]) -> pd.DataFrame:
    late = reason_for("days_late_last_order", {"days_late_last_order": 4.0}, 0.6).to_dict()
    return pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": [0.9 - 0.01 * i for i in range(len(ids))],
            "reasons": [[late] for _ in ids],
            "orders_365d": [4] * len(ids),
            "avg_order_value": [50.0] * len(ids),
            "tenure_days": [300] * len(ids),
            "days_since_last_order": [38.0] * len(ids),
        }
    )


@pytest.fixture()
def bilingual_queue(serving_home) -> dict[str, str]:
    return build_bilingual_queue()


def build_bilingual_queue() -> dict[str, str]:
    """Yesterday's queue (overdue by now) and tomorrow's (not due yet), each with a Japanese and an
    English customer."""
    from common.settings import get_settings
    from outreach.daily import build_daily_queues
    from outreach.rules import OutreachConfig
    from outreach.store import open_store

    languages = {"old-ja": "ja", "old-en": "en", "new-ja": "ja-JP", "new-en": "en"}
    customers = pd.DataFrame(
        {
            "customer_id": list(languages),
            "preferred_channel": ["email"] * 4,
            "consent_email": [True] * 4,
            "consent_phone": [False] * 4,
            "consent_sms": [True] * 4,
        }
    )
    config = OutreachConfig(control_fraction=0.0)
    store = open_store(get_settings().queue_database_url)
    try:
        today = date.today()
        for day, ids in (
            (today - timedelta(days=1), ["old-ja", "old-en"]),
            (TOMORROW, ["new-ja", "new-en"]),
        ):
            build_daily_queues(store, late_scored(ids), customers, day, config, languages=languages)
    finally:
        store.close()
    return languages


def test_the_work_list_carries_each_customers_language_overdue_first(api, bilingual_queue):
    response = api.client.get(
        f"/queue/{TEAM}/work?date={TOMORROW.isoformat()}", headers=_auth(api.outreach_key)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    items = {item["customer_id"]: item for item in body["items"]}
    assert [i["customer_id"] for i in body["items"]][:2] == ["old-ja", "old-en"]
    assert items["old-ja"]["overdue"] and not items["new-en"]["overdue"]
    for customer in ("old-ja", "new-ja"):
        assert items[customer]["language"] == "ja"
        assert items[customer]["reason_sentence"] == "最新のご注文はお約束の日より4日遅れました"
        assert "4日遅れて" in items[customer]["message_body"]
        assert items[customer]["message_subject"] == "最近のご注文についてのお詫び"
    for customer in ("old-en", "new-en"):
        assert items[customer]["language"] == "en"
        assert (
            items[customer]["reason_sentence"]
            == "latest order 4 days behind its promised delivery day"
        )
        assert "arrived 4 days after the day we promised" in items[customer]["message_body"]


def test_the_export_carries_language_and_draft(api, bilingual_queue):
    response = api.client.get(
        f"/queue/{TEAM}/export.csv?date={TOMORROW.isoformat()}", headers=_auth(api.outreach_key)
    )
    assert response.status_code == 200
    rows = {row["customer_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert rows["new-ja"]["language"] == "ja" and "4日遅れ" in rows["new-ja"]["reason"]
    assert "申し訳" in rows["new-ja"]["message_body"]
    assert rows["new-en"]["language"] == "en" and "apologise" in rows["new-en"]["message_body"]


def test_edited_draft_is_kept_and_outcomes_schedule_the_next_step(api, bilingual_queue):
    headers = _auth(api.outreach_key)
    claimed = api.client.post(
        f"/queue/{TEAM}/claim", json={"n": 4, "queue_date": TOMORROW.isoformat()}, headers=headers
    ).json()
    items = {item["customer_id"]: item for item in claimed["items"]}
    ja, en = items["new-ja"], items["new-en"]
    sent = api.client.post(
        f"/queue/items/{ja['id']}/outcome",
        json={"state": "contacted", "message_body": "<b>編集済み</b>"},
        headers=headers,
    )
    assert sent.status_code == 200 and sent.json()["message_body"] == "<b>編集済み</b>"
    refused = api.client.post(
        f"/queue/items/{ja['id']}/outcome",
        json={"state": "resolved", "message_body": "too late"},
        headers=headers,
    )
    assert refused.status_code == 400 and "only when recording contacted" in refused.text
    api.client.post(
        f"/queue/items/{ja['id']}/outcome", json={"state": "no_answer"}, headers=headers
    )
    api.client.post(
        f"/queue/items/{en['id']}/outcome", json={"state": "contacted"}, headers=headers
    )
    api.client.post(f"/queue/items/{en['id']}/outcome", json={"state": "resolved"}, headers=headers)

    retry_day = (date.today() + timedelta(days=2)).isoformat()
    day_before = (date.today() + timedelta(days=1)).isoformat()
    work = api.client.get(f"/queue/{TEAM}/work?date={day_before}", headers=headers).json()
    early = [i for i in work["items"] if i["follows_item_id"] == ja["id"]]
    assert early == []  # not before its delay
    work = api.client.get(f"/queue/{TEAM}/work?date={retry_day}", headers=headers).json()
    retry = next(i for i in work["items"] if i["follows_item_id"] == ja["id"])
    assert (retry["step"], retry["attempt"], retry["channel"], retry["language"]) == (
        "retry",
        2,
        "sms",
        "ja",
    )
    check_day = (date.today() + timedelta(days=7)).isoformat()
    work = api.client.get(f"/queue/{TEAM}/work?date={check_day}", headers=headers).json()
    check = next(i for i in work["items"] if i["follows_item_id"] == en["id"])
    assert check["step"] == "follow_up" and check["message_subject"] == "Did everything arrive?"
    assert "we told you we would put this right" in check["message_body"]
    assert check["language"] == "en" and check["channel"] == "email"


def test_metrics_count_overdue_items(api, bilingual_queue):
    response = api.client.get("/metrics", headers=_auth(api.admin_key))
    assert response.status_code == 200
    lines = [
        line for line in response.text.splitlines() if "churnguard_outreach_overdue_items" in line
    ]
    assert any(f'team="{TEAM}"' in line and line.rstrip().endswith(" 2.0") for line in lines), lines
