"""Leakage: features at T from the full history equal features from the shop as it looked at T."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.catalogue import FEATURE_NAMES
from features.snapshot import build_snapshot
from tests.features.pit_shops import as_it_looked, at_day, random_shop, warehouse


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    day=st.integers(20, 760),
    hour=st.sampled_from([0, 0, 0, 7, 13, 23]),
    lookback=st.sampled_from([90, 365, 730]),
)
def test_features_use_only_what_was_known_at_the_cutoff(seed, day, hour, lookback):
    orders, deliveries, feedback = random_shop(seed)
    cutoff = at_day(day, hour)
    full = build_snapshot(warehouse(orders, deliveries, feedback), cutoff, lookback_days=lookback)
    then = build_snapshot(
        warehouse(*as_it_looked(orders, deliveries, feedback, cutoff)),
        cutoff,
        lookback_days=lookback,
    )
    pd.testing.assert_frame_equal(full, then, check_exact=False, rtol=1e-12)
    assert list(full.columns) == ["customer_id", "as_of", *FEATURE_NAMES]


def test_an_order_late_at_the_cutoff_is_overdue_whatever_happened_later():
    """Not vacuous: at T the shop's history holds a later arrival, the snapshot still sees the order
    overdue, exactly as the shop as it looked at T does."""
    orders, deliveries, feedback = random_shop(7)
    late = deliveries[deliveries["delivered_at"] > deliveries["promised_at"] + pd.Timedelta(days=2)]
    parcel = late.iloc[0]
    cutoff = (parcel["promised_at"] + pd.Timedelta(days=1)).normalize().to_pydatetime()
    past_orders, past_deliveries, past_feedback = as_it_looked(orders, deliveries, feedback, cutoff)
    today = deliveries[deliveries["order_id"].isin(past_orders["order_id"])]
    assert today["delivered_at"].notna().sum() > past_deliveries["delivered_at"].notna().sum()

    honest = build_snapshot(warehouse(past_orders, past_deliveries, past_feedback), cutoff)
    full = build_snapshot(warehouse(orders, deliveries, feedback), cutoff)
    pd.testing.assert_frame_equal(full, honest)
    customer = orders.set_index("order_id").loc[parcel["order_id"], "customer_id"]
    assert full.set_index("customer_id").loc[customer, "open_overdue_orders"] >= 1
