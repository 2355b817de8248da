"""`churnguard monitor`: a shop whose behaviour changes shows the realised AUC falling and drift
firing; a stable shop shows neither."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.settings import Settings
from training.monitor import REALISED_AUC_TOLERANCE, RealisedDay, judge_day, warnings_for
from training.shift import DRIFT_PSI_THRESHOLD, psi, reference_bins

START = datetime(2024, 1, 1)
SCORED_DAY = 500
HORIZON = 60


def orders(customers: int, days: int, change_day: int | None, seed: int) -> pd.DataFrame:
    """Poisson buying with dropout after each order; from `change_day` a random half of the
    customers stop and the rest buy three times as often (who stays has nothing to do with the past)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        t, rate, dropout = rng.uniform(0, days), rng.gamma(2.0, 1 / 50), rng.beta(1.0, 12.0)
        stops_at_change = rng.random() < 0.5
        while t < days:
            if change_day is not None and t >= change_day:
                if stops_at_change:
                    break
                rows.append((c, t))
                t += rng.exponential(1 / (3 * rate))
                continue
            rows.append((c, t))
            if rng.random() < dropout:
                break
            t += rng.exponential(1 / rate)
    return pd.DataFrame(
        {
            "order_id": [f"O{i:07d}" for i in range(len(rows))],
            "customer_id": [f"C{c:05d}" for c, _ in rows],
            "ordered_at": [START + timedelta(days=float(t)) for _, t in rows],
            "amount": 30.0,
            "status": "delivered",
        }
    )


def _export(frame: pd.DataFrame, folder: Path, before_day: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame[frame["ordered_at"] < START + timedelta(days=before_day)].to_parquet(
        folder / "orders.parquet", index=False
    )
    return folder


def run_shop(tmp_path: Path, change_day: int | None):
    from churnguard.daily import run_daily
    from features.ingest import ingest
    from training.monitor import monitor
    from training.train import train

    history = orders(1500, SCORED_DAY + HORIZON + 10, change_day, seed=7)
    settings = Settings(home=tmp_path / "home")
    ingest(_export(history, tmp_path / "before", SCORED_DAY), settings=settings, data_docs=False)
    train(horizon_days=HORIZON, settings=settings, promote_after=False)
    scored_on = (START + timedelta(days=SCORED_DAY)).date()
    from training.registry import tracking_client

    client = tracking_client(settings)
    from common.names import CHAMPION_ALIAS, MODEL_NAME

    client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, "1")
    run_daily(settings, as_of=scored_on)
    ingest(_export(history, tmp_path / "after", SCORED_DAY + HORIZON + 10), settings=settings,
           data_docs=False)  # fmt: skip
    return monitor(settings)


@pytest.mark.slow
def test_a_shop_that_changes_shows_realised_auc_falling_and_drift_a_stable_one_neither(tmp_path):
    stable = run_shop(tmp_path / "stable", change_day=None)
    changed = run_shop(tmp_path / "changed", change_day=SCORED_DAY)

    assert stable.latest is not None and changed.latest is not None
    assert stable.latest.scored_on == date(2024, 1, 1) + timedelta(days=SCORED_DAY)
    assert stable.latest.roc_auc > stable.expected_roc_auc - REALISED_AUC_TOLERANCE, stable.lines()
    assert max(stable.drift.values()) <= DRIFT_PSI_THRESHOLD, stable.lines()
    assert stable.warnings == (), stable.lines()

    assert changed.latest.roc_auc < changed.expected_roc_auc - REALISED_AUC_TOLERANCE
    assert max(changed.drift.values()) > DRIFT_PSI_THRESHOLD, changed.lines()
    assert any("realised ROC-AUC" in w for w in changed.warnings), changed.lines()
    assert any("drifted" in w for w in changed.warnings), changed.lines()


def test_psi_is_zero_for_the_same_population_and_grows_with_the_shift():
    rng = np.random.default_rng(0)
    before = rng.normal(size=20_000)
    reference = reference_bins(before)
    assert psi(reference, rng.normal(size=20_000)) < 0.01
    assert (
        0.1
        < psi(reference, rng.normal(0.5, 1.0, size=20_000))
        < psi(reference, rng.normal(1.5, 1.0, size=20_000))
    )
    # a worked example: half the mass moves from the lower to the upper half
    two = {"edges": [0.0], "shares": [0.5, 0.5, 0.0]}
    moved = np.array([1.0] * 3 + [-1.0])  # shares 0.25 / 0.75
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert psi(two, moved) == pytest.approx(expected)


def test_realised_performance_and_its_warning_are_judged_on_who_came_back():
    scores = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "churn_probability": [0.9, 0.8, 0.2, 0.1]}
    )
    right = judge_day(date(2025, 1, 1), scores, came_back={"c", "d"})
    wrong = judge_day(date(2025, 1, 1), scores, came_back={"a", "b"})
    assert right.roc_auc == 1.0 and wrong.roc_auc == 0.0 and right.churn_rate == 0.5
    assert warnings_for(0.8, right, {}) == []
    assert "below the backtests' 0.800" in warnings_for(0.8, wrong, {})[0]
    assert "drifted" in warnings_for(0.8, None, {"orders_90d": 0.4})[0]
    assert isinstance(right, RealisedDay)
