"""A small scorer trained on synthetic arrays whose columns carry real catalogue feature names."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.calibration import Calibrator
from models.scorer import ChurnScorer

FEATURES = (
    "days_since_last_order",
    "usual_gap_days",
    "orders_365d",
    "late_deliveries_90d",
    "last_rating",
)


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "days_since_last_order": rng.exponential(60, n).round(),
            "usual_gap_days": rng.uniform(10, 60, n).round(),
            "orders_365d": rng.poisson(5, n).astype(float),
            "late_deliveries_90d": rng.poisson(0.3, n).astype(float),
            "last_rating": np.where(rng.uniform(size=n) < 0.4, np.nan, rng.integers(1, 6, n)),
        }
    )
    logit = (
        -1.0
        + 1.5 * (frame.days_since_last_order / frame.usual_gap_days - 1).clip(-1, 4)
        + 0.8 * frame.late_deliveries_90d
        - 0.1 * frame.orders_365d
        + np.where(frame.last_rating.fillna(4) <= 2, 1.0, 0.0)
    )
    frame["churned"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="session")
def scorer() -> ChurnScorer:
    train = customers(6000, seed=1)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbosity": -1, "num_threads": 1, "seed": 0},
        lgb.Dataset(train[list(FEATURES)].to_numpy(), train["churned"].to_numpy()),
        num_boost_round=80,
    )
    reference = customers(2000, seed=2)
    raw = booster.predict(reference[list(FEATURES)].to_numpy())
    return ChurnScorer.from_reference(
        booster=booster,
        calibrator=Calibrator("platt", slope=0.9, intercept=0.05),
        feature_names=FEATURES,
        feature_schema_version="test-schema",
        horizon_days=90,
        reference_scores=Calibrator("platt", slope=0.9, intercept=0.05).apply(raw),
    )
