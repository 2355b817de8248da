"""Feature values worked out by hand on a four-customer shop, and the orders-only degradation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.catalogue import FEATURE_NAMES, FEATURES
from features.snapshot import build_snapshot
from tests.features.hand_shop import AS_OF, hand_deliveries, hand_feedback, hand_orders
from tests.features.pit_shops import warehouse

NAN = math.nan

# Days are counted from the order's time to the cutoff 2025-07-01 00:00.
ANN = {
    "days_since_last_order": 10.0,  # a4 on 06-21
    "days_since_first_order": 181.0,  # a1 on 01-01: 31+28+31+30+31+30
    "orders_total": 4.0,  # a5 (07-05) is after the cutoff
    "orders_30d": 1.0,  # a4
    "spend_30d": 40.0,
    "orders_90d": 2.0,  # a3 (61 days), a4; a2 is 121 days back
    "spend_90d": 110.0,  # 70 + 40
    "orders_180d": 3.0,  # a2 (121 days) joins; a1 is 181 days back
    "spend_180d": 110.0,  # a2 was cancelled (known a day after ordering): 0
    "orders_365d": 4.0,
    "spend_365d": 160.0,  # 50 + 70 + 40
    "last_order_amount": 40.0,
    "usual_gap_days": 60.0,  # gaps 60 (01-01→03-02), 60 (03-02→05-01), 51 (05-01→06-21)
    "cancelled_orders_365d": 1.0,
    "returned_orders_365d": 1.0,  # a3 arrived 05-03, +30 days = 06-02 < cutoff
    "delivered_orders_365d": 2.0,  # a1, a3
    "late_deliveries_90d": 0.0,  # a1 arrived 176 days back, a3 on the promised day
    "late_deliveries_365d": 1.0,
    "mean_days_late_365d": 1.0,  # (2 + 0) / 2
    "max_days_late_90d": 0.0,  # only a3 arrived within 90 days, on time
    "max_days_late_365d": 2.0,
    "days_late_last_order": 6.0,  # a4 promised 06-25, still not there on 07-01
    "days_since_last_late_delivery": 176.0,  # a1 arrived 01-06: 26 + 150
    "failed_deliveries_90d": 0.0,
    "failed_deliveries_365d": 0.0,
    "open_overdue_orders": 1.0,  # a4 (a2 was promised 03-05, more than 90 days back)
    "days_overdue_oldest_open_order": 6.0,
    "feedback_365d": 2.0,  # f1, f2; f3 is after the cutoff
    "mean_rating_365d": 2.0,  # only f1 has a rating
    "worst_rating_90d": NAN,  # f1 is 113 days back, f2 has no rating
    "last_rating": 2.0,
    "mean_text_sentiment_365d": -0.4,  # (-0.6 - 0.2) / 2
    "min_text_sentiment_90d": -0.2,
    "last_text_sentiment": -0.2,
    "negative_feedback_90d": 0.0,
    "negative_feedback_365d": 1.0,
    "support_tickets_90d": 1.0,  # f2
    "days_since_last_negative_feedback": 113.0,  # 03-10 → 07-01: 22 (to 04-01) + 30 + 31 + 30
    "avg_order_value": 160.0 / 3,  # three orders not cancelled
    "orders_per_day_365d": 4 / 181,
    "recency_over_tenure": 10 / 181,
    "orders_per_30d_of_tenure": 30 * 4 / 181,
    "days_overdue_vs_usual_gap": -50.0,  # 10 - 60
    "ratio_since_last_order_to_usual_gap": 10 / 60,
    "order_rate_trend_90d_vs_365d": (2 / 90) / (4 / 365),
    "spend_trend_90d_vs_365d": (110 / 90) / (160 / 365),
    "orders_change_90d_vs_prior_90d": 1.0,  # 2 - (3 - 2)
    "share_cancelled_orders_365d": 0.25,
    "share_returned_orders_365d": 0.25,
    "share_late_deliveries_365d": 0.5,
    "share_negative_feedback_365d": 0.5,
}

BOB = {
    "days_since_last_order": 81.0,  # 04-11 → 07-01: 20 (to 05-01) + 31 + 30
    "days_since_first_order": 81.0,
    "orders_total": 1.0,
    "orders_90d": 1.0,
    "orders_30d": 0.0,
    "spend_365d": 20.0,
    "usual_gap_days": NAN,  # one order
    "days_overdue_vs_usual_gap": NAN,
    "ratio_since_last_order_to_usual_gap": NAN,
    "failed_deliveries_90d": 1.0,  # promised 04-14, +7 days = 04-21 < cutoff, never delivered
    "failed_deliveries_365d": 1.0,
    "open_overdue_orders": 0.0,  # the failure is known, so it is not an open order
    "days_overdue_oldest_open_order": 0.0,
    "days_late_last_order": 78.0,  # 04-14 → 07-01: 17 (to 05-01) + 31 + 30
    "delivered_orders_365d": 0.0,
    "share_late_deliveries_365d": NAN,  # nothing arrived
    "mean_days_late_365d": NAN,
    "feedback_365d": 0.0,  # the shop has feedback, bob gave none
    "support_tickets_90d": 0.0,
    "mean_rating_365d": NAN,
    "share_negative_feedback_365d": NAN,
    "orders_per_day_365d": 1 / 81,
    "recency_over_tenure": 1.0,  # nothing since the first order
    "orders_per_30d_of_tenure": 30 / 81,
    "avg_order_value": 20.0,
}

DAN = {
    "days_since_last_order": 0.5,  # d1 at 06-30 12:00; d2 at exactly the cutoff does not count
    "orders_total": 1.0,
    "spend_30d": 10.0,  # the cancellation of d1 is known only at 07-01 12:00
    "cancelled_orders_365d": 0.0,
    "days_late_last_order": 0.0,  # promised 07-03: not due yet
    "open_overdue_orders": 0.0,
    "delivered_orders_365d": 0.0,  # d1 arrives 07-02
    "orders_per_day_365d": 1 / 30,  # tenure floored at 30 days
    "recency_over_tenure": 0.5,  # tenure floored at 1 day
    "orders_per_30d_of_tenure": 1.0,  # tenure floored at 30 days
}


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    con = warehouse(hand_orders(), hand_deliveries(), hand_feedback())
    return build_snapshot(con, AS_OF).set_index("customer_id")


def test_only_customers_active_in_the_lookback_are_scored(snapshot):
    assert sorted(snapshot.index) == ["ann", "bob", "dan"]  # cat's last order is 426 days back
    assert (snapshot["as_of"] == pd.Timestamp(AS_OF)).all()


@pytest.mark.parametrize("customer, expected", [("ann", ANN), ("bob", BOB), ("dan", DAN)])
def test_hand_checked_values(snapshot, customer, expected):
    row = snapshot.loc[customer]
    wrong = {
        name: (row[name], value)
        for name, value in expected.items()
        if not (
            (math.isnan(value) and math.isnan(row[name]))
            or math.isclose(row[name], value, rel_tol=1e-9, abs_tol=1e-12)
        )
    }
    assert not wrong, f"{customer}: (computed, expected) {wrong}"


def test_every_feature_of_ann_is_hand_checked():
    assert set(ANN) == set(FEATURE_NAMES)


def test_orders_only_warehouse_gives_nan_for_delivery_and_feedback_features(snapshot):
    orders_only = build_snapshot(warehouse(hand_orders()), AS_OF).set_index("customer_id")
    assert sorted(orders_only.index) == ["ann", "bob", "dan"]
    not_from_orders = [f.name for f in FEATURES if not f.source.startswith("orders")]
    from_orders = [f.name for f in FEATURES if f.source.startswith("orders")]
    assert orders_only[not_from_orders].isna().all().all()
    # what comes from orders alone does not change, except what a known delivery settles (a3's return)
    same = [n for n in from_orders if "returned" not in n]
    pd.testing.assert_frame_equal(orders_only[same], snapshot[same])
    assert orders_only.loc["ann", "returned_orders_365d"] == 1.0  # 05-01 + 30 days, no delivery row


def test_snapshot_schema_and_empty_warehouse():
    empty = build_snapshot(warehouse(hand_orders().iloc[0:0]), AS_OF)
    assert list(empty.columns) == ["customer_id", "as_of", *FEATURE_NAMES]
    assert len(empty) == 0
    full = build_snapshot(warehouse(hand_orders(), hand_deliveries(), hand_feedback()), AS_OF)
    assert (full[list(FEATURE_NAMES)].dtypes == "float64").all()


def test_a_date_means_its_midnight_and_an_aware_time_is_converted_to_utc():
    con = warehouse(hand_orders())
    by_date = build_snapshot(con, AS_OF.date())
    aware = build_snapshot(con, pd.Timestamp("2025-07-01 02:00", tz="Europe/Berlin"))  # 00:00 UTC
    pd.testing.assert_frame_equal(by_date, aware)


def test_value_at_risk_has_one_definition_the_catalogues_order_rate(snapshot) -> None:
    from features.catalogue import RATE_MIN_DAYS
    from features.value import expected_value, order_rate

    rate = order_rate(snapshot["orders_365d"], snapshot["days_since_first_order"], RATE_MIN_DAYS)
    assert rate == pytest.approx(snapshot["orders_per_day_365d"].to_numpy())
    assert expected_value(rate, snapshot["avg_order_value"], 90) == pytest.approx(
        np.nan_to_num(snapshot["orders_per_day_365d"].to_numpy() * 90 * snapshot["avg_order_value"])
    )
