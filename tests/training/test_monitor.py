"""`churnguard monitor`: a shop whose behaviour changes shows the realised AUC falling and drift
firing; a stable shop shows neither."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from typer.testing import CliRunner

from churnguard.cli import app
from common.settings import Settings
from training.monitor import REALISED_AUC_TOLERANCE, RealisedDay, judge_day, warnings_for
from training.shift import DRIFT_PSI_THRESHOLD, psi, reference_bins

runner = CliRunner()
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


def run_shop(tmp_path: Path, change_day: int | None, monkeypatch: pytest.MonkeyPatch):
    """Ingest what is known at the scored day, train, score it with `churnguard daily`; ingest what
    happened over the next horizon and run `churnguard monitor`, as an operator would."""
    from common.names import CHAMPION_ALIAS, MODEL_NAME
    from features.ingest import ingest
    from training.registry import tracking_client
    from training.train import train

    home = tmp_path / "home"
    monkeypatch.setenv("CHURNGUARD_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    history = orders(1500, SCORED_DAY + HORIZON + 10, change_day, seed=7)
    settings = Settings(home=home)
    ingest(_export(history, tmp_path / "before", SCORED_DAY), settings=settings, data_docs=False)
    train(horizon_days=HORIZON, settings=settings, promote_after=False)
    # champion whatever the gate says: this test is about what monitor sees, not about promotion
    tracking_client(settings).set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, "1")
    scored_on = (START + timedelta(days=SCORED_DAY)).date()
    daily = runner.invoke(app, ["daily", "--as-of", scored_on.isoformat()])
    assert daily.exit_code == 0, daily.output
    ingest(_export(history, tmp_path / "after", SCORED_DAY + HORIZON + 10), settings=settings,
           data_docs=False)  # fmt: skip
    watched = runner.invoke(app, ["monitor"])
    assert watched.exit_code == 0, watched.output
    return json.loads(settings.monitor_path.read_text()), watched.output


@pytest.mark.slow
def test_a_shop_that_changes_shows_realised_auc_falling_and_drift_a_stable_one_neither(
    tmp_path, monkeypatch
):
    stable, stable_out = run_shop(tmp_path / "stable", None, monkeypatch)
    changed, changed_out = run_shop(tmp_path / "changed", SCORED_DAY, monkeypatch)

    scored_on = str(date(2024, 1, 1) + timedelta(days=SCORED_DAY))
    assert [d["scored_on"] for d in stable["realised"]] == [scored_on], stable_out
    assert [d["scored_on"] for d in changed["realised"]] == [scored_on], changed_out
    expected, realised = stable["expected_roc_auc"], stable["realised"][-1]["roc_auc"]
    assert realised > expected - REALISED_AUC_TOLERANCE, stable_out
    assert max(stable["drift_psi"].values()) <= DRIFT_PSI_THRESHOLD, stable_out
    assert stable["warnings"] == [] and "warning:" not in stable_out, stable_out

    expected, realised = changed["expected_roc_auc"], changed["realised"][-1]["roc_auc"]
    assert realised < expected - REALISED_AUC_TOLERANCE, changed_out
    assert max(changed["drift_psi"].values()) > DRIFT_PSI_THRESHOLD, changed_out
    # both warnings fire, in the file the service's /metrics reads and in the CLI's output
    assert len(changed["warnings"]) == 2, changed_out
    assert "realised ROC-AUC" in changed["warnings"][0], changed_out
    assert "drifted from the training rows" in changed["warnings"][1], changed_out
    assert changed_out.count("warning:") == 2, changed_out


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


def test_psi_agrees_with_a_hand_worked_example_and_with_scipy():
    # Half the mass below the one edge becomes a quarter: by hand, PSI = (0.25 - 0.5) ln(0.25/0.5)
    # + (0.75 - 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.1733 + 0.1014 = 0.2747.
    two = {"edges": [0.0], "shares": [0.5, 0.5, 0.0]}
    assert psi(two, np.array([1.0] * 3 + [-1.0])) == pytest.approx(0.2747, abs=1e-4)
    # Independently: PSI is the symmetrised Kullback-Leibler divergence KL(a||e) + KL(e||a), which
    # scipy computes; the bins are numpy's deciles, counted by np.histogram.
    rng = np.random.default_rng(3)
    before, after = rng.gamma(2.0, 10.0, 5_000), rng.gamma(2.5, 10.0, 3_000)
    reference = reference_bins(before)
    edges = np.quantile(before, np.linspace(0, 1, 11)[1:-1])
    assert reference["edges"] == pytest.approx(edges.tolist())
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    expected = np.histogram(before, bounds)[0] / len(before)
    actual = np.histogram(after, bounds)[0] / len(after)
    assert reference["shares"][:-1] == pytest.approx(expected.tolist())
    by_scipy = scipy.stats.entropy(actual, expected) + scipy.stats.entropy(expected, actual)
    assert psi(reference, after) == pytest.approx(by_scipy, rel=1e-9)
    # a missing value is a bin of its own: customers losing a value move PSI too
    with_gaps = np.where(rng.random(len(after)) < 0.2, np.nan, after)
    assert psi(reference, with_gaps) > psi(reference, after) + 0.1


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
