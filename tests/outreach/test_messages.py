"""Drafts: every playbook x channel x language has its template, says the customer's own reason in
their language, keeps SMS within one segment and never runs shop data as a template."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from common.names import ReasonCode
from features.contract import CONTACT_CHANNELS
from models.reasons import RULES, reason_for
from outreach.messages import (
    FOLLOW_UP,
    LANGUAGES,
    SMS_LIMITS,
    draft_facts,
    missing_templates,
    render_draft,
)
from outreach.playbooks import Playbooks
from outreach.rules import OutreachConfig, select_outreach
from tests.models.test_reasons import _values_where_every_rule_applies

DAY = date(2025, 5, 20)
LATE = reason_for("days_late_last_order", {"days_late_last_order": 4.0}, 0.6).to_dict()
SINCE = reason_for(
    "days_since_last_order", {"days_since_last_order": 38.0, "usual_gap_days": 30.0}, 0.1
).to_dict()


def test_every_playbook_has_a_template_per_channel_and_language(playbooks: Playbooks) -> None:
    assert missing_templates(playbooks.action_names(), playbooks.messages) == []


def test_a_draft_states_the_reason_plainly_with_its_date_and_days_late() -> None:
    facts = draft_facts([LATE, SINCE], DAY, "en")
    email = render_draft("apology_status_update", "email", "en", [LATE, SINCE], facts)
    assert "latest order 4 days behind its promised delivery day" in email.body
    assert "Your order of 12 April arrived 4 days after the day we promised" in email.body
    assert email.subject and email.language == "en"
    japanese = render_draft(
        "apology_status_update", "email", "ja", [LATE, SINCE], draft_facts([LATE, SINCE], DAY, "ja")
    )
    assert "最新のご注文はお約束の日より4日遅れました" in japanese.body
    assert "4月12日のご注文は、お約束の日より4日遅れて" in japanese.body
    assert japanese.language == "ja" and "申し訳" in japanese.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_sms_fit_one_segment_even_with_the_longest_reasons(
    playbooks: Playbooks, language: str
) -> None:
    values = _values_where_every_rule_applies()
    reasons = [
        r.to_dict() for rule in RULES if (r := reason_for(rule.feature, values, 0.5)) is not None
    ]
    reasons.sort(key=lambda r: -len(r["sentences"][language]))
    facts = draft_facts(reasons, DAY, language) | {"resolved_date": "12 May"}
    for name in (*playbooks.action_names(), FOLLOW_UP):
        for lead in reasons[:5]:
            sms = render_draft(name, "sms", language, [lead, *reasons], facts)
            assert 0 < len(sms.body) <= SMS_LIMITS[language], (name, sms.body)
            assert sms.subject is None


def test_shop_data_is_never_run_as_a_template() -> None:
    hostile = {"code": "LOW_RATING", "sentence": "{{ 7*7 }} {% for x in range(3) %}x{% endfor %}"}
    draft = render_draft("service_recovery_call", "email", "en", [hostile], {})
    assert "{{ 7*7 }}" in draft.body and "49" not in draft.body


@pytest.mark.parametrize("by_saving", [False, True], ids=["by-reason", "by-expected-saving"])
def test_queue_items_carry_reason_and_draft_in_each_customers_language(
    playbooks: Playbooks, by_saving: bool
) -> None:
    """Also when the playbook is chosen by expected saving, as the daily job always does (that path
    once recorded the English sentence for everyone)."""
    scored = pd.DataFrame(
        {
            "customer_id": ["jp1", "en1", "xx1"],
            "churn_probability": [0.9, 0.8, 0.7],
            "reasons": [[LATE, SINCE], [LATE, SINCE], [LATE]],
            "orders_365d": [4, 4, 4],
            "avg_order_value": [50.0, 50.0, 50.0],
            "tenure_days": [300, 300, 300],
            "days_since_last_order": [38.0, 38.0, 38.0],
        }
    )
    selection = select_outreach(
        scored,
        None,
        DAY,
        playbooks,
        OutreachConfig(control_fraction=0.0),
        languages={"jp1": "ja", "en1": "en-GB", "xx1": "ko"},
        savings=pd.DataFrame(
            {name: [1.0, 1.0, 1.0] for name in playbooks.action_names()}
            | {"apology_status_update": [10.0, 10.0, 10.0], "default": [0.0, 0.0, 0.0]}
        )
        if by_saving
        else None,
    )
    items = selection.items.set_index("customer_id")
    assert items.loc["jp1", "language"] == "ja"
    assert items.loc["jp1", "reason_sentence"] == "最新のご注文はお約束の日より4日遅れました"
    assert "4日遅れました" in items.loc["jp1", "message_body"]
    assert items.loc["en1", "language"] == "en"
    assert (
        items.loc["en1", "reason_sentence"]
        == "latest order 4 days behind its promised delivery day"
    )
    assert "12 April" in items.loc["en1", "message_body"]
    assert items.loc["xx1", "language"] == "en"  # no Korean templates: English
    for customer in items.index:  # nobody's draft mentions another customer
        others = set(items.index) - {customer}
        assert not any(other in items.loc[customer, "message_body"] for other in others)
    assert set(items["channel"]) <= set(CONTACT_CHANNELS)
    assert all(pd.notna(items["due_at"]))


def test_a_missing_template_is_a_clear_error() -> None:
    from outreach.messages import MessageError

    with pytest.raises(MessageError, match=r"v1/no_such_playbook/email\.en\.j2"):
        render_draft("no_such_playbook", "email", "en", [LATE], {})
    assert LATE["code"] == ReasonCode.LATE_DELIVERY
