"""Follow-ups as steps: due times from the team's service level, a retry on the next consented
channel after no answer (up to a limit), a check with its own draft after a resolution, overdue
items first; follow-ups hold the customer out of new contacts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from outreach.daily import build_daily_queues
from outreach.playbooks import Playbooks
from outreach.rules import OutreachConfig
from outreach.store import OutreachStore
from tests.outreach.test_messages import LATE, SINCE

DAY = date(2025, 5, 20)
NO_CONTROL = OutreachConfig(control_fraction=0.0, cooldown_days=30)


def _one_customer(store: OutreachStore, consent_sms: bool = True, language: str = "ja") -> int:
    scored = pd.DataFrame(
        {
            "customer_id": ["c1"],
            "churn_probability": [0.9],
            "reasons": [[LATE, SINCE]],
            "orders_365d": [4],
            "avg_order_value": [50.0],
            "tenure_days": [300],
            "days_since_last_order": [38.0],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["c1"],
            "preferred_channel": ["email"],
            "consent_email": [True],
            "consent_phone": [False],
            "consent_sms": [consent_sms],
        }
    )
    build_daily_queues(
        store,
        scored,
        customers,
        DAY,
        NO_CONTROL,
        languages={"c1": language},
    )
    (item,) = store.claim("customer-care", 1, "ann", queue_date=DAY, now=_at(DAY, 9))
    return item.id


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


def test_an_item_is_due_at_its_teams_service_level(
    store: OutreachStore, playbooks: Playbooks
) -> None:
    item = store.item(_one_customer(store))
    hours = playbooks.teams["customer-care"].service_level_hours
    assert item.due_at == _at(DAY, hours)
    assert item.step == "contact" and item.attempt == 1 and item.channels == ["email", "sms"]
    assert item.language == "ja" and item.message_subject and "4日遅れ" in item.message_body


def test_no_answer_retries_on_the_next_consented_channel_after_its_delay(
    store: OutreachStore, playbooks: Playbooks
) -> None:
    first = _one_customer(store)
    store.transition(first, "contacted", "ann", now=_at(DAY, 10))
    store.transition(first, "no_answer", "ann", now=_at(DAY, 11))
    delay = playbooks.follow_up.no_answer_retry_after_days
    retry_day = DAY + timedelta(days=delay)
    assert store.claim("customer-care", 5, "bob", now=_at(retry_day - timedelta(days=1), 9)) == []
    (retry,) = store.claim("customer-care", 5, "bob", now=_at(retry_day, 9))
    assert (retry.step, retry.attempt, retry.channel) == ("retry", 2, "sms")
    assert retry.follows_item_id == first and retry.queue_date == retry_day
    assert retry.language == "ja" and len(retry.message_body) <= 70
    # and so on up to the limit: no more retries after max_attempts
    current = retry
    for _ in range(playbooks.follow_up.max_attempts):
        when = _at(current.queue_date, 10)
        store.transition(current.id, "contacted", "bob", now=when)
        store.transition(current.id, "no_answer", "bob", now=when + timedelta(hours=1))
        later = store.claim("customer-care", 5, "bob", now=when + timedelta(days=30))
        if not later:
            break
        current = later[0]
    assert current.attempt == playbooks.follow_up.max_attempts


def test_no_retry_without_a_consented_channel_other_than_none(store: OutreachStore) -> None:
    first = _one_customer(store, consent_sms=False)
    store.transition(first, "contacted", "ann", now=_at(DAY, 10))
    store.transition(first, "no_answer", "ann", now=_at(DAY, 11))
    (retry,) = store.claim("customer-care", 5, "bob", now=_at(DAY + timedelta(days=9), 9))
    assert retry.channel == "email"  # the only consented channel, again; phone never


def test_resolved_schedules_a_follow_up_check_with_its_own_draft(
    store: OutreachStore, playbooks: Playbooks
) -> None:
    first = _one_customer(store, language="en")
    store.transition(first, "contacted", "ann", now=_at(DAY, 10))
    store.transition(first, "resolved", "ann", now=_at(DAY, 12))
    check_day = DAY + timedelta(days=playbooks.follow_up.resolved_check_after_days)
    (check,) = store.claim("customer-care", 5, "ann", now=_at(check_day, 9))
    assert check.step == "follow_up" and check.follows_item_id == first
    assert check.message_subject == "Did everything arrive?"
    assert "On 20 May we told you we would put this right" in check.message_body
    assert check.channel == "email"
    store.transition(check.id, "contacted", "ann", now=_at(check_day, 10))
    done = store.transition(check.id, "resolved", "ann", notes="it arrived", now=_at(check_day, 11))
    assert done.state.value == "resolved"  # the follow-up's answer is its outcome
    assert store.claim("customer-care", 5, "ann", now=_at(check_day + timedelta(days=30), 9)) == []


def test_a_follow_up_holds_the_customer_out_of_new_contacts(store: OutreachStore) -> None:
    first = _one_customer(store)
    store.transition(first, "contacted", "ann", now=_at(DAY, 10))
    store.transition(first, "resolved", "ann", now=_at(DAY, 12))
    assert "c1" in store.cooling_down(DAY + timedelta(days=60), cooldown_days=30)


def test_an_agent_can_edit_the_draft_when_recording_contacted(store: OutreachStore) -> None:
    first = _one_customer(store)
    sent = store.transition(
        first, "contacted", "ann", now=_at(DAY, 10), message_body="Edited by Ann"
    )
    assert sent.message_body == "Edited by Ann"


def test_overdue_items_come_first_and_are_counted(store: OutreachStore) -> None:
    scored = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "churn_probability": [0.9, 0.8],
            "reasons": [[LATE], [LATE]],
            "orders_365d": [4, 4],
            "avg_order_value": [50.0, 50.0],
            "tenure_days": [300, 300],
        }
    )
    build_daily_queues(store, scored, None, DAY, NO_CONTROL)
    build_daily_queues(
        store, scored.assign(customer_id=["c", "d"]), None, DAY + timedelta(days=1), NO_CONTROL
    )
    now = _at(
        DAY + timedelta(days=1), 7
    )  # yesterday's items are past their 8 hours, today's not yet
    work = store.work_list("customer-care", DAY + timedelta(days=1), now=now)
    assert [item.customer_id for item in work] == ["a", "b", "c", "d"]
    assert [item.is_overdue(now) for item in work] == [True, True, False, False]
    assert store.overdue_counts(now) == {"customer-care": 2}


def test_follow_ups_are_kept_apart_from_new_contacts_in_the_effect_report(
    store: OutreachStore,
) -> None:
    first = _one_customer(store)
    store.transition(first, "contacted", "ann", now=_at(DAY, 10))
    store.transition(first, "resolved", "ann", now=_at(DAY, 12))
    end = DAY + timedelta(days=30)
    assignments = store.assignments(DAY, end)
    assert assignments["customer_id"].tolist() == ["c1"]  # the first contact only
    assert store.follow_up_counts(DAY, end) == {"follow_up": {"queued": 1}}
