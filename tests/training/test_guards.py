"""Cutoff spacing for short histories, the shift guard, and monotone directions from the catalogue."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.catalogue import FEATURES_BY_NAME
from training.fit import FitConfig, fit_booster, monotone_directions
from training.shift import left_out, share_outside, shift_warning
from training.split import MIN_CUTOFFS, cutoff_spacing


def test_monthly_cutoffs_where_they_are_enough_weekly_for_short_histories():
    assert cutoff_spacing(365) == 30  # 13 monthly cutoffs
    assert cutoff_spacing(180) == 14  # monthly would give 7
    assert cutoff_spacing(93) == 7  # a 12-month history at a 182-day horizon: 14 weekly cutoffs
    assert MIN_CUTOFFS <= 93 // 7 + 1


def test_share_outside_counts_scoring_rows_past_the_training_range_and_the_guard_leaves_them_out():
    train = pd.DataFrame({"tenure": np.arange(90.0, 181.0), "ratio": np.linspace(0, 2, 91)})
    at_t = pd.DataFrame({"tenure": np.arange(300.0, 400.0), "ratio": np.linspace(0, 2.5, 100)})
    shift = share_outside({"tenure": (90.0, 180.0), "ratio": (0.0, 2.0)}, at_t)
    assert shift["tenure"] == 1.0 and 0.15 < shift["ratio"] < 0.25
    assert left_out(shift) == ["ratio", "tenure"]
    assert left_out({"tenure": 1.0, "ratio": 0.05}) == ["tenure"]
    assert "tenure 100%" in shift_warning(shift, ["tenure"])
    assert shift_warning({"ratio": 0.05}, ["ratio"]) is None
    assert train.shape == (91, 2)


def test_a_left_out_feature_is_never_split_on():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"strong": rng.normal(size=3000), "other": rng.normal(size=3000)})
    frame["churned"] = (frame["strong"] + 0.3 * rng.normal(size=3000) > 0).astype(int)
    result = fit_booster(
        frame, None, ["strong", "other"], FitConfig(), left_out=["strong"], rounds=20
    )
    splits = dict(zip(["strong", "other"], result.booster.feature_importance("split"), strict=True))
    assert splits["strong"] == 0 and splits["other"] > 0
    assert isinstance(result.booster, lgb.Booster)


def test_monotone_directions_come_with_the_feature_definition():
    names = ["days_since_last_order", "last_rating", "orders_90d", "recency_over_tenure", "x"]
    assert monotone_directions(names) == [1, -1, -1, 0, 0]
    assert FEATURES_BY_NAME["late_deliveries_90d"].monotone == 1
