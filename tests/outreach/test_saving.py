"""Priority by expected saving: the documented prior, the playbook that saves most, the
no_playbook_saves rule, and the rules that read the imported contact history."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from common.names import ReasonCode
from features.contacts import contacted_within, silent_since_contact
from features.value import expected_value
from models.saving_terms import SAVING_FEATURES
from outreach.daily import build_daily_queues, open_day
from outreach.playbooks import Playbooks
from outreach.rules import OutreachConfig, select_outreach
from outreach.saving import expected_savings, prior_uplift
from outreach.store import open_store
from tests.outreach.conftest import make_scored, reason

DAY = date(2025, 3, 14)
NO_CONTROL = OutreachConfig(control_fraction=0.0)


def _features(**columns: list[float]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({name: [np.nan] * n for name in SAVING_FEATURES})
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_a_fresh_failed_delivery_outranks_a_customer_gone_for_150_days_at_equal_value(
    playbooks: Playbooks,
) -> None:
    features = _features(
        days_since_last_order=[9.0, 180.0],
        days_overdue_vs_usual_gap=[-21.0, 150.0],
        failed_deliveries_90d=[1.0, 0.0],
        days_since_last_late_delivery=[np.nan, np.nan],
    )
    probability = np.array([0.45, 0.99])  # the lost cause looks far riskier
    value = np.array([300.0, 300.0])
    savings = expected_savings(prior_uplift(features, probability, playbooks, 90), value)
    best = savings.max(axis=1)
    assert best[0] > 5 * best[1]
    assert savings.iloc[0].idxmax() == "apology_status_update"
    assert savings.iloc[1].idxmax() == "win_back_offer"


def test_a_win_back_offer_goes_to_a_customer_who_just_lapsed_not_to_one_still_buying(
    playbooks: Playbooks,
) -> None:
    features = _features(
        days_since_last_order=[20.0, 50.0],
        days_overdue_vs_usual_gap=[-10.0, 20.0],  # due in 10 days; 20 days past the usual order
        failed_deliveries_90d=[0.0, 0.0],
        orders_per_day_365d=[1 / 30, 1 / 30],
    )
    probability = np.array([0.4, 0.6])
    uplift = prior_uplift(features, probability, playbooks, 90)
    assert uplift.loc[0, "win_back_offer"] == 0.0  # a discount to someone who buys anyway
    assert uplift.loc[1].idxmax() == "win_back_offer"
    assert uplift.loc[1, "win_back_offer"] > uplift.loc[0].max()


def test_each_customer_gets_the_playbook_that_saves_most_and_the_queue_ranks_by_it(
    playbooks: Playbooks,
) -> None:
    scored = make_scored(3)
    scored["reasons"] = [[reason(ReasonCode.LATE_DELIVERY)]] * 3
    savings = pd.DataFrame(
        {
            "apology_status_update": [5.0, 40.0, 2.0],
            "service_recovery_call": [1.0, 1.0, 30.0],
            "win_back_offer": [20.0, 0.0, 0.0],
            "default": [0.0, 0.0, 0.0],
        }
    )
    picked = select_outreach(scored, None, DAY, playbooks, NO_CONTROL, savings=savings)
    by_customer = picked.items.set_index("customer_id")
    assert by_customer["playbook"].to_dict() == {
        "c00000": "win_back_offer",
        "c00001": "apology_status_update",
        "c00002": "service_recovery_call",
    }
    assert by_customer["expected_saving"].to_dict() == {
        "c00000": 20.0,
        "c00001": 40.0,
        "c00002": 30.0,
    }
    # the reason an agent reads belongs to the chosen playbook when the customer has one
    assert by_customer.loc["c00001", "reason_code"] == ReasonCode.LATE_DELIVERY


def test_a_customer_the_best_playbook_cannot_reach_gets_the_best_one_that_can(
    playbooks: Playbooks,
) -> None:
    scored = make_scored(2)
    savings = pd.DataFrame(
        {
            "apology_status_update": [10.0, 10.0],
            "service_recovery_call": [30.0, 30.0],  # phone or email
            "win_back_offer": [0.0, 0.0],
            "default": [0.0, 0.0],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["c00000", "c00001"],
            "preferred_channel": [None, None],
            "consent_email": [False, False],
            "consent_phone": [False, False],
            "consent_sms": [True, False],  # c00001 can be reached through no channel at all
        }
    )
    picked = select_outreach(scored, customers, DAY, playbooks, NO_CONTROL, savings=savings)
    item = picked.items.set_index("customer_id").loc["c00000"]
    assert (item["playbook"], item["channel"], item["expected_saving"]) == (
        "apology_status_update",
        "sms",
        10.0,
    )
    assert list(picked.items["customer_id"]) == ["c00000"]
    assert picked.excluded["no_consented_channel"] == 1


def test_a_customer_whose_best_team_is_full_gets_the_next_best_playbook_of_a_team_with_room(
    playbooks: Playbooks,
) -> None:
    scored = make_scored(3)
    scored["reasons"] = [[reason(ReasonCode.LOW_RATING)]] * 3
    savings = pd.DataFrame(
        {
            "apology_status_update": [10.0, 20.0, 0.5],
            "service_recovery_call": [30.0, 25.0, 24.0],
            "win_back_offer": [0.0, 0.0, 0.0],
            "default": [0.0, 0.0, 0.0],
        }
    )
    config = OutreachConfig(control_fraction=0.0, team_capacity={"service-recovery": 1})
    picked = select_outreach(scored, None, DAY, playbooks, config, savings=savings)
    by_customer = picked.items.set_index("customer_id")
    assert by_customer["playbook"].to_dict() == {
        "c00000": "service_recovery_call",
        "c00001": "apology_status_update",  # the call team is full; an apology still saves 20
    }
    assert by_customer.loc["c00001", ["team", "expected_saving"]].tolist() == [
        "customer-care",
        20.0,
    ]
    assert by_customer.loc["c00001", "channel"] == "email"
    # nothing else saves enough for c00002: over capacity, not moved
    assert picked.excluded["over_capacity"] == 1


def test_a_moved_customer_keeps_the_slot_it_was_given_and_a_full_account_team_falls_back(
    playbooks: Playbooks,
) -> None:
    scored = make_scored(5)
    scored.loc[4, ["tenure_days", "avg_order_value", "orders_365d"]] = [800, 500.0, 12]  # loyal
    nan = np.nan
    savings = pd.DataFrame(
        {  # X, Y, Z, W and a loyal customer whose account manager is busy
            "apology_status_update": [100.0, 90.0, nan, nan, 400.0],
            "service_recovery_call": [30.0, 80.0, 85.0, nan, 10.0],
            "win_back_offer": [50.0, 60.0, nan, nan, 0.0],
            "default": [nan, nan, nan, nan, 0.0],
        }
    )
    config = OutreachConfig(
        control_fraction=0.0,
        team_capacity={"customer-care": 2, "service-recovery": 1, "account-management": 0},
    )
    picked = select_outreach(scored, None, DAY, playbooks, config, savings=savings)
    by_customer = picked.items.set_index("customer_id")["playbook"].to_dict()
    # the loyal customer's account team has no slot: an apology (customer care) still saves 400;
    # then X takes the last apology slot, Y the call, and Z, whose call team is full, nothing else;
    # a row moved keeps its slot: Y is not pushed out by Z ranking above its new saving
    assert by_customer == {
        "c00004": "apology_status_update",
        "c00000": "apology_status_update",
        "c00001": "service_recovery_call",
    }
    assert picked.excluded["over_capacity"] == 1  # Z
    assert picked.excluded["no_playbook_saves"] == 1  # W


def test_no_playbook_is_chosen_where_none_saves_and_the_report_counts_it(
    playbooks: Playbooks,
) -> None:
    scored = make_scored(4)
    savings = pd.DataFrame(
        {
            name: [12.0, 0.4, -3.0, 0.0]
            for name in ("apology_status_update", "service_recovery_call", "win_back_offer")
        }
        | {"default": [0.0, 0.0, -1.0, 0.0]}
    )
    picked = select_outreach(scored, None, DAY, playbooks, NO_CONTROL, savings=savings)
    assert list(picked.items["customer_id"]) == ["c00000"]
    assert picked.excluded["no_playbook_saves"] == 3


def _history(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "contact_id": f"k{i}",
                "customer_id": customer,
                "contacted_at": pd.Timestamp(moment),
                "group": group,
                "playbook": "win_back_offer",
                "channel": None,
                "outcome": None,
            }
            for i, (customer, moment, group) in enumerate(rows)
        ]
    )


def test_a_customer_contacted_within_the_cooldown_in_the_imported_history_is_not_queued(
    playbooks: Playbooks, tmp_path
) -> None:
    history = _history(
        ("c00000", "2025-03-01 10:00", "treated"),  # 13 days before: cooling down
        ("c00001", "2025-03-05 10:00", "control"),  # held out 9 days before: cooling down too
        ("c00002", "2025-01-20 10:00", "treated"),  # long ago: free again
    )
    config = OutreachConfig(control_fraction=0.0, cooldown_days=30)
    contacted = contacted_within(history, DAY, config.cooldown_days)
    assert contacted == {"c00000", "c00001"}
    store = open_store(f"sqlite:///{tmp_path / 'outreach.db'}")
    try:
        opened = open_day(store, DAY, config, contacted)
        report = build_daily_queues(
            store, make_scored(3), None, DAY, config=config, playbooks=playbooks, opened=opened
        )
        queued = set(store.items(DAY)["customer_id"])
    finally:
        store.close()
    assert queued == {"c00002"}
    assert report.cooldown == 2


def test_a_contacted_customer_who_never_ordered_since_is_not_contacted_again() -> None:
    history = _history(
        ("c00000", "2025-01-10 10:00", "treated"),  # no order since: silent
        ("c00001", "2025-01-10 10:00", "treated"),  # ordered after it
        ("c00002", "2025-03-10 10:00", "treated"),  # too recent to judge
        ("c00003", "2025-01-10 10:00", "control"),  # never contacted
    )
    silent = silent_since_contact(
        history,
        pd.Series(["c00000", "c00001", "c00002", "c00003"]),
        pd.Series([70.0, 20.0, 70.0, 70.0]),
        DAY,
        min_days=30,
    )
    assert silent == {"c00000"}


def test_the_store_gives_back_worked_items_and_control_as_contact_history(
    playbooks: Playbooks, tmp_path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'outreach.db'}")
    try:
        build_daily_queues(
            store,
            make_scored(40),
            None,
            DAY,
            config=OutreachConfig(control_fraction=0.3),
            playbooks=playbooks,
        )
        item = int(store.items(DAY)["id"].iloc[0])
        store.transition(item, "claimed", agent="ana")
        store.transition(item, "contacted", agent="ana")
        history = store.contact_history()
    finally:
        store.close()
    assert set(history["group"]) == {"treated", "control"}
    assert (history["group"] == "treated").sum() == 1
    assert history["contact_id"].is_unique
    assert pd.api.types.is_datetime64_any_dtype(history["contacted_at"])
    assert history.loc[history["group"] == "treated", "contacted_at"].iloc[0] > datetime(2020, 1, 1)


def test_expected_value_is_the_catalogue_rate_times_horizon_times_order_value() -> None:
    assert expected_value([0.05], [40.0], 90).tolist() == [0.05 * 90 * 40.0]
    assert expected_value([np.nan], [40.0], 90).tolist() == [0.0]


def test_a_contacted_customer_is_silent_only_once_their_usual_gap_has_passed() -> None:
    history = _history(
        ("c00000", "2025-01-10 10:00", "treated"),  # orders every 20 days: overdue, silent
        ("c00001", "2025-01-10 10:00", "treated"),  # orders every 120 days: not due yet
        ("c00002", "2025-01-10 10:00", "treated"),  # a single order, no usual gap: 30 days
    )
    silent = silent_since_contact(
        history,
        pd.Series(["c00000", "c00001", "c00002"]),
        pd.Series([70.0, 70.0, 70.0]),
        DAY,
        min_days=30,
        usual_gap_days=pd.Series([20.0, 120.0, np.nan]),
    )
    assert silent == {"c00000", "c00002"}
