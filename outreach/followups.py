"""Follow-ups as structured steps: what an outcome schedules next, and when an item is due.

Pure functions over an item's stored row: the store calls `next_step` in the same transaction that
records the outcome, so an outcome and the step it schedules are written together or not at all.

- `no_answer`: the next consented channel of the playbook (in its order, round the list) after
  `no_answer_retry_after_days`, while fewer than `max_attempts` contacts went unanswered;
- `resolved` (of a first contact or a retry): a follow-up check after `resolved_check_after_days`,
  on the same channel, with its own draft ("did the replacement arrive?");
- the follow-up's own answer is an outcome like any other; a resolved follow-up schedules nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from outreach.messages import FOLLOW_UP, format_day, render_draft, template_language
from outreach.playbooks import Playbooks
from outreach.records import ItemState

CONTACT: Final = "contact"
RETRY: Final = "retry"
FOLLOW_UP_STEP: Final = "follow_up"
STEPS: Final = (CONTACT, RETRY, FOLLOW_UP_STEP)


def due_at(queue_date: date, service_level_hours: int) -> datetime:
    """An item is due `service_level_hours` after the start of its day."""
    return datetime.combine(queue_date, time.min) + timedelta(hours=service_level_hours)


def next_channel(channel: str, channels: list[str] | None) -> str | None:
    """The consented channel after `channel` in the playbook's order, round the list; None if the
    customer consented to none (the current one counts only when it is the sole channel)."""
    consented = list(channels or [])
    if not consented:
        return None
    if channel not in consented:
        return consented[0]
    return consented[(consented.index(channel) + 1) % len(consented)]


def next_step(
    item: Mapping[str, Any], outcome: ItemState, when: datetime, playbooks: Playbooks
) -> dict[str, Any] | None:
    """The queue item an outcome schedules (a row for the store), or None."""
    policy = playbooks.follow_up
    step = item.get("step") or CONTACT
    attempt = int(item.get("attempt") or 1)
    if outcome is ItemState.NO_ANSWER:
        if attempt >= policy.max_attempts:
            return None
        channel = next_channel(item["channel"], item.get("channels"))
        if channel is None:
            return None
        queue_date = when.date() + timedelta(days=policy.no_answer_retry_after_days)
        new_step, new_attempt, template = RETRY, attempt + 1, item["playbook"]
    elif outcome is ItemState.RESOLVED and step != FOLLOW_UP_STEP:
        channel = item["channel"]
        if channel not in (item.get("channels") or [channel]):
            return None  # consent withdrawn since: no follow-up on that channel
        queue_date = when.date() + timedelta(days=policy.resolved_check_after_days)
        new_step, new_attempt, template = FOLLOW_UP_STEP, 1, FOLLOW_UP
    else:
        return None
    language = template_language(item.get("language"))
    context = item.get("draft_context") or {}
    facts = dict(context.get("facts") or {})
    facts["resolved_date"] = format_day(when.date(), language)
    draft = render_draft(
        template,
        channel,
        language,
        context.get("reasons") or [],
        facts,
        playbooks.messages,
        reason_sentence=item.get("reason_sentence"),
    )
    hours = (
        playbooks.teams[item["team"]].service_level_hours if item["team"] in playbooks.teams else 24
    )
    return {
        "queue_date": queue_date,
        "customer_id": item["customer_id"],
        "team": item["team"],
        "playbook": item["playbook"],
        "action": item["action"] if new_step == RETRY else f"follow-up: {item['action']}",
        "channel": channel,
        "reason_code": item.get("reason_code"),
        "reason_sentence": item["reason_sentence"],
        "churn_probability": item["churn_probability"],
        "expected_value": item["expected_value"],
        "value_at_risk": item["value_at_risk"],
        "priority_rank": 0,  # scheduled steps come before the day's new contacts
        "state": ItemState.QUEUED.value,
        "playbook_version": item["playbook_version"],
        "model_version": item.get("model_version"),
        "language": language,
        "message_subject": draft.subject,
        "message_body": draft.body,
        "channels": item.get("channels"),
        "draft_context": {**context, "facts": facts},
        "due_at": due_at(queue_date, hours),
        "step": new_step,
        "attempt": new_attempt,
        "follows_item_id": item["id"],
    }
