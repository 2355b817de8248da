"""The selection rules on small frames where the right answer is known."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from common.names import ReasonCode
from outreach.playbooks import Playbooks
from outreach.rules import (
    OutreachConfig,
    expected_value,
    in_control_group,
    period_of,
    select_outreach,
)
from tests.outreach.conftest import make_scored, reason

DAY = date(2025, 3, 14)
NO_CONTROL = OutreachConfig(control_fraction=0.0)


def one(customer_id: str, probability: float, code: str, **values: float) -> dict:
    return {
        "customer_id": customer_id,
        "churn_probability": probability,
        "reasons": [reason(code)],
        "orders_365d": values.get("orders_365d", 6),
        "avg_order_value": values.get("avg_order_value", 50.0),
        "tenure_days": values.get("tenure_days", 400),
    }


def test_expected_value_is_order_rate_times_horizon_times_order_value() -> None:
    values = expected_value(
        orders_365d=[12, 3, 0, 5, np.nan],
        avg_order_value=[50.0, 100.0, 80.0, np.nan, 40.0],
        tenure_days=[800, 100, 300, 200, 50],
        horizon_days=90,
        min_rate_days=30,
    )
    assert values == pytest.approx([12 / 365 * 90 * 50, 3 / 100 * 90 * 100, 0, 0, 0])
    newcomer = expected_value([1], [60.0], [2], horizon_days=90, min_rate_days=30)
    assert newcomer == pytest.approx([1 / 30 * 90 * 60])


def test_min_probability_leaves_out_customers_below_it(playbooks: Playbooks) -> None:
    scored = pd.DataFrame(
        [
            one("a", 0.29, ReasonCode.LATE_DELIVERY),
            one("b", 0.30, ReasonCode.LATE_DELIVERY),
            one("c", 0.9, ReasonCode.LATE_DELIVERY),
        ]
    )
    selection = select_outreach(
        scored, None, DAY, playbooks, NO_CONTROL.model_copy(update={"min_churn_probability": 0.3})
    )
    assert sorted(selection.items["customer_id"]) == ["b", "c"]
    assert selection.excluded["below_min_probability"] == 1


def test_priority_is_value_at_risk_then_probability(playbooks: Playbooks) -> None:
    scored = pd.DataFrame(
        [
            one("small", 0.9, ReasonCode.LATE_DELIVERY, avg_order_value=10.0),
            one("big", 0.6, ReasonCode.LATE_DELIVERY, avg_order_value=100.0),
            # same value at risk as each other: the likelier churner goes first
            one("tie_low_p", 0.5, ReasonCode.LATE_DELIVERY, avg_order_value=60.0),
            one("tie_high_p", 0.75, ReasonCode.LATE_DELIVERY, avg_order_value=40.0),
        ]
    )
    items = select_outreach(scored, None, DAY, playbooks, NO_CONTROL).items
    assert list(items["customer_id"]) == ["big", "tie_high_p", "tie_low_p", "small"]
    assert list(items["priority_rank"]) == [1, 2, 3, 4]
    expected = 0.6 * (6 / 365 * 90 * 100.0)
    assert items.loc[0, "value_at_risk"] == pytest.approx(expected)


def test_strongest_mapped_reason_picks_the_playbook_and_unmapped_reasons_get_the_default(
    playbooks: Playbooks,
) -> None:
    rows = [
        one("few", 0.8, ReasonCode.FEW_ORDERS),
        one("mixed", 0.8, ReasonCode.FEW_ORDERS),
        one("none", 0.8, ReasonCode.FEW_ORDERS),
    ]
    rows[1]["reasons"] = [
        reason(ReasonCode.FEW_ORDERS, 0.5),
        reason(ReasonCode.LOW_RATING, 0.3),
        reason(ReasonCode.LATE_DELIVERY, 0.1),
    ]
    rows[2]["reasons"] = []
    selection = select_outreach(pd.DataFrame(rows), None, DAY, playbooks, NO_CONTROL)
    items = selection.items.set_index("customer_id")
    assert items.loc["few", ["playbook", "team", "reason_code"]].tolist() == [
        "default",
        "marketing",
        "FEW_ORDERS",
    ]
    assert items.loc["mixed", ["playbook", "team", "reason_code"]].tolist() == [
        "service_recovery_call",
        "service-recovery",
        "LOW_RATING",
    ]
    assert items.loc["mixed", "reason_sentence"] == "because low_rating"
    # nothing raised this customer's risk: an agent would have nothing true to say, so no item
    assert "none" not in items.index
    assert selection.excluded["no_actionable_reason"] == 1


def test_long_time_high_value_customers_go_to_an_account_manager_whatever_the_reason(
    playbooks: Playbooks,
) -> None:
    scored = pd.DataFrame(
        [
            one(
                "loyal",
                0.7,
                ReasonCode.LATE_DELIVERY,
                orders_365d=40,
                avg_order_value=200.0,
                tenure_days=1500,
            ),
            one(
                "new_big",
                0.7,
                ReasonCode.LATE_DELIVERY,
                orders_365d=40,
                avg_order_value=200.0,
                tenure_days=200,
            ),
            one(
                "old_small",
                0.7,
                ReasonCode.LATE_DELIVERY,
                orders_365d=2,
                avg_order_value=20.0,
                tenure_days=1500,
            ),
        ]
    )
    customers = pd.DataFrame({"customer_id": ["loyal"], "consent_phone": [True]})
    items = select_outreach(scored, customers, DAY, playbooks, NO_CONTROL).items.set_index(
        "customer_id"
    )
    assert items.loc["loyal", ["team", "channel", "reason_code"]].tolist() == [
        "account-management",
        "phone",
        "LATE_DELIVERY",
    ]
    assert items.loc["new_big", "team"] == "customer-care"
    assert items.loc["old_small", "team"] == "customer-care"


def test_consent_explicit_no_forbids_and_unknown_allows_only_email(playbooks: Playbooks) -> None:
    scored = pd.DataFrame(
        [
            one("no_email", 0.8, ReasonCode.LONG_INACTIVE),  # win-back: email, sms
            one("sms_only", 0.8, ReasonCode.LONG_INACTIVE),
            one("unknown", 0.8, ReasonCode.LONG_INACTIVE),
            one("missing_row", 0.8, ReasonCode.LONG_INACTIVE),
            one("call_unknown", 0.8, ReasonCode.LOW_RATING),  # service recovery: phone, email
            one("call_no_email", 0.8, ReasonCode.LOW_RATING),
        ]
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["no_email", "sms_only", "unknown", "call_unknown", "call_no_email"],
            "consent_email": [False, False, None, None, False],
            "consent_phone": [None, None, None, None, None],
            "consent_sms": [False, True, None, None, None],
        }
    )
    selection = select_outreach(scored, customers, DAY, playbooks, NO_CONTROL)
    channel = selection.items.set_index("customer_id")["channel"].to_dict()
    assert channel == {
        "sms_only": "sms",
        "unknown": "email",
        "missing_row": "email",
        "call_unknown": "email",
    }
    assert selection.excluded["no_consented_channel"] == 2

    strict = NO_CONTROL.model_copy(update={"channels_without_consent_info": ()})
    strict_selection = select_outreach(scored, customers, DAY, playbooks, strict)
    assert list(strict_selection.items["customer_id"]) == ["sms_only"]
    assert select_outreach(scored, None, DAY, playbooks, strict).items.empty


def test_preferred_channel_comes_first_when_allowed_and_consented(playbooks: Playbooks) -> None:
    scored = pd.DataFrame(
        [
            one(c, 0.8, ReasonCode.LATE_DELIVERY)
            for c in ("likes_sms", "likes_phone_no_consent", "likes_phone", "no_pref")
        ]
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["likes_sms", "likes_phone_no_consent", "likes_phone", "no_pref"],
            "preferred_channel": ["sms", "phone", "phone", None],
            "consent_email": [True, True, True, True],
            "consent_phone": [True, False, True, True],
            "consent_sms": [True, True, False, True],
        }
    )
    channel = select_outreach(scored, customers, DAY, playbooks, NO_CONTROL).items.set_index(
        "customer_id"
    )["channel"]
    # apology playbook's order is email, sms, phone
    assert channel.to_dict() == {
        "likes_sms": "sms",
        "likes_phone_no_consent": "email",
        "likes_phone": "phone",
        "no_pref": "email",
    }


def test_customers_in_cooldown_are_left_out(playbooks: Playbooks) -> None:
    scored = make_scored(20)
    cooling = {"c00003", "c00007", "someone_else"}
    selection = select_outreach(scored, None, DAY, playbooks, NO_CONTROL, cooling_down=cooling)
    assert selection.excluded["cooldown"] == 2
    assert not set(selection.items["customer_id"]) & cooling
    assert len(selection.items) == 18


def test_capacity_is_per_team_and_keeps_the_highest_priority(playbooks: Playbooks) -> None:
    scored = make_scored(400)
    config = NO_CONTROL.model_copy(
        update={"team_capacity": {"customer-care": 10, "service-recovery": 5}}
    )
    full = select_outreach(scored, None, DAY, playbooks, NO_CONTROL).items
    capped = select_outreach(scored, None, DAY, playbooks, config)
    counts = capped.items["team"].value_counts().to_dict()
    assert counts["customer-care"] == 10 and counts["service-recovery"] == 5
    assert counts["marketing"] == (full["team"] == "marketing").sum()
    assert capped.excluded["over_capacity"] == len(full) - len(capped.items)
    care_full = full.loc[full["team"] == "customer-care", "customer_id"].head(10).tolist()
    assert (
        capped.items.loc[capped.items["team"] == "customer-care", "customer_id"].tolist()
        == care_full
    )


def test_control_group_is_about_ten_percent_recorded_and_never_queued(playbooks: Playbooks) -> None:
    scored = make_scored(5000)
    selection = select_outreach(
        scored,
        None,
        DAY,
        playbooks,
        OutreachConfig(
            team_capacity={"marketing": 5000, "customer-care": 5000, "service-recovery": 5000}
        ),
    )
    within = len(selection.items) + len(selection.control)
    assert within == 5000
    assert 0.085 < len(selection.control) / within < 0.115
    assert selection.excluded["control_group"] == len(selection.control)
    assert not set(selection.control["customer_id"]) & set(selection.items["customer_id"])


def test_control_membership_is_stable_per_customer_and_period_and_changes_across_periods() -> None:
    ids = [f"c{i}" for i in range(20_000)]
    march = in_control_group(ids, period_of(date(2025, 3, 1), "month"), "seed", 0.1)
    march_again = in_control_group(ids[::-1], period_of(date(2025, 3, 31), "month"), "seed", 0.1)[
        ::-1
    ]
    april = in_control_group(ids, period_of(date(2025, 4, 1), "month"), "seed", 0.1)
    other_seed = in_control_group(ids, "2025-03", "another", 0.1)
    assert (march == march_again).all()
    assert 0.09 < march.mean() < 0.11 and 0.09 < april.mean() < 0.11
    overlap = (march & april).sum() / march.sum()
    assert overlap < 0.2  # independent draws overlap about 10%
    assert (march != other_seed).any()
    assert period_of(date(2025, 3, 14), "week") == "2025-W11"
    assert period_of(date(2025, 3, 14), "quarter") == "2025-Q1"


def test_bad_input_is_refused_with_where_and_what() -> None:
    from outreach.playbooks import load_playbooks

    playbooks = load_playbooks()
    scored = make_scored(3)
    with pytest.raises(ValueError, match=r"missing columns \['tenure_days'\]"):
        select_outreach(scored.drop(columns="tenure_days"), None, DAY, playbooks, NO_CONTROL)
    scored.loc[1, "churn_probability"] = 1.5
    with pytest.raises(
        ValueError, match=r"row 1, column churn_probability: 1\.5 is not a probability"
    ):
        select_outreach(scored, None, DAY, playbooks, NO_CONTROL)
    twice = pd.concat([make_scored(2), make_scored(1)])
    with pytest.raises(ValueError, match="customer_id 'c00000' appears more than once"):
        select_outreach(twice, None, DAY, playbooks, NO_CONTROL)


def test_value_at_risk_uses_the_catalogues_order_rate():
    """expected value = orders_per_day_365d x horizon x avg_order_value, with the rate as the
    catalogue defines it (tenure floored at 30 days and capped at a year); the rates are the
    hand-checked snapshot values of tests/features/test_snapshot_values.py."""
    from outreach.rules import expected_value

    orders_365d, tenure_days = np.array([4, 1, 1, 12]), np.array([181, 81, 5, 900])
    average_order = np.array([50.0, 20.0, 10.0, 30.0])
    orders_per_day_365d = np.array([4 / 181, 1 / 81, 1 / 30, 12 / 365])
    np.testing.assert_allclose(
        expected_value(orders_365d, average_order, tenure_days, 90),
        orders_per_day_365d * 90 * average_order,
    )
