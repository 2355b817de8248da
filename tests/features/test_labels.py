"""Churn labels and training sets on the hand-checked shop."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from features.catalogue import FEATURE_NAMES
from features.snapshot import build_labels, build_snapshot, build_training_set
from tests.features.hand_shop import AS_OF, hand_deliveries, hand_feedback, hand_orders
from tests.features.pit_shops import warehouse


@pytest.fixture(scope="module")
def con():
    return warehouse(hand_orders(), hand_deliveries(), hand_feedback())


def test_churned_means_no_order_within_the_horizon(con):
    labels = build_labels(con, AS_OF, horizon_days=90).set_index("customer_id")["churned"]
    # window [07-01, 09-29): ann orders 07-05, dan exactly at 07-01 00:00, bob only on 10-15
    assert labels.to_dict() == {"ann": 0, "bob": 1, "dan": 0}
    longer = build_labels(con, AS_OF, horizon_days=106).set_index("customer_id")["churned"]
    assert longer["bob"] == 1  # window ends 10-15 00:00, exclusive: bob's order is on its end


def test_a_label_window_past_the_data_is_refused(con):
    with pytest.raises(
        ValueError,
        match=r"after the last order date 2025-10-15.*latest cutoff allowed is 2025-07-17",
    ):
        build_labels(con, datetime(2025, 7, 18), horizon_days=90)
    build_labels(con, datetime(2025, 7, 17), horizon_days=90)  # ends exactly on the last order day
    with pytest.raises(ValueError, match="cutoff 2025-08-01"):
        build_training_set(con, [date(2025, 6, 1), date(2025, 8, 1)], horizon_days=90)


def test_training_set_is_the_snapshots_plus_labels(con):
    cutoffs = [date(2025, 5, 1), AS_OF.date()]
    training = build_training_set(con, cutoffs, horizon_days=90)
    assert list(training.columns) == ["customer_id", "cutoff", "churned", *FEATURE_NAMES]
    assert training["churned"].dtype == "int64"
    for cutoff in cutoffs:
        rows = training[training["cutoff"] == pd.Timestamp(cutoff)].drop(columns="churned")
        expected = build_snapshot(con, cutoff).rename(columns={"as_of": "cutoff"})
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected)
    batched = build_training_set(con, cutoffs, horizon_days=90, cutoffs_per_query=2)
    pd.testing.assert_frame_equal(batched, training)
    at_may = training[training["cutoff"] == pd.Timestamp("2025-05-01")].set_index("customer_id")
    # on 05-01: ann (orders 05-01 00:00 and 06-21 ahead), bob (04-11; next 10-15) and cat, whose
    # 2024-05-01 order is exactly 365 days back: the lookback [T - 365 days, T) includes its start
    assert at_may["churned"].to_dict() == {"ann": 0, "bob": 1, "cat": 1}


def test_training_set_streams_to_parquet(con, tmp_path):
    from features.io import snapshot_catalogue_version, write_training_set
    from features.snapshot import iter_training_set

    cutoffs = [date(2025, 5, 1), date(2025, 6, 1), AS_OF.date()]
    path, rows = write_training_set(iter_training_set(con, cutoffs, 90), tmp_path / "train.parquet")
    expected = build_training_set(con, cutoffs, horizon_days=90)
    assert rows == len(expected)
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected, check_dtype=False)
    assert snapshot_catalogue_version(path) is not None
