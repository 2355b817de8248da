"""The uplift model: learned from the imported campaigns, judged on the latest ones with
scikit-uplift's metrics, registered under its own name, and allowed to drive the queues only
through its own gate."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from common.names import CHAMPION_ALIAS, UPLIFT_MODEL_NAME
from common.settings import Settings
from features.contacts import combine_history, contact_features, read_contacts
from features.warehouse import connect
from models.uplift import load_uplift
from tests.training.conftest import TrainedShop
from training.uplift import (
    UpliftConfig,
    UpliftDataError,
    UpliftMetrics,
    decide_uplift,
    train_uplift,
)

SMALL = UpliftConfig(min_treated_per_playbook=15, min_control=30, rounds=30)


@pytest.fixture()
def settings(trained_small_shop: TrainedShop, tmp_path: Path) -> Settings:
    copy = tmp_path / "home"
    shutil.copytree(trained_small_shop.settings.home, copy)
    return Settings(home=copy)


def test_each_contact_gets_the_features_known_before_its_day_and_its_outcome(
    settings: Settings,
) -> None:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        history = combine_history(read_contacts(con), None)
        frame = contact_features(con, history, 90)
    finally:
        con.close()
    assert len(history) > 0 and 0 < len(frame) <= len(history)
    assert set(frame["group"]) == {"treated", "control"}
    assert frame["contact_id"].is_unique
    assert set(frame["churned"].unique()) <= {0, 1}
    # point in time: every order counted happened before the contact's day
    assert (frame["days_since_last_order"] > 0).all()


def test_the_uplift_model_is_registered_under_its_own_name_and_gated(settings: Settings) -> None:
    result = train_uplift(horizon_days=90, settings=settings, config=SMALL)
    assert result.rows > 0 and result.playbooks
    m = result.metrics
    assert all(math.isfinite(v) for v in (m.qini_model, m.qini_value_at_risk))
    assert result.gate.passed == (m.uplift_at_k_model > m.uplift_at_k_value_at_risk)
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    versions = client.search_model_versions(f"name = '{UPLIFT_MODEL_NAME}'")
    assert [str(v.version) for v in versions] == [result.version]
    has_alias = any(CHAMPION_ALIAS in (v.aliases or []) for v in versions)
    assert has_alias == result.gate.passed == result.promoted

    client.set_registered_model_alias(UPLIFT_MODEL_NAME, CHAMPION_ALIAS, result.version)
    model, version = load_uplift(settings.tracking_uri)
    assert str(version.version) == result.version
    con = connect(settings.warehouse_path, read_only=True)
    try:
        frame = contact_features(con, combine_history(read_contacts(con), None), 90)
    finally:
        con.close()
    uplift = model.predict_uplift(frame)
    assert list(uplift.columns) == result.playbooks
    assert np.isfinite(uplift.to_numpy()).all() and (uplift.abs() <= 1).all().all()


def test_the_gate_lets_the_model_drive_only_if_it_beats_value_at_risk() -> None:
    def metrics(ours: float, theirs: float) -> UpliftMetrics:
        return UpliftMetrics(100, 50, 50, 0.0, 0.0, ours, theirs, 0.2)

    assert decide_uplift(metrics(0.05, 0.02)).passed
    refused = decide_uplift(metrics(0.02, 0.02))
    assert not refused.passed and "does not beat value at risk" in refused.reason
    assert not decide_uplift(metrics(float("nan"), 0.02)).passed


def _campaigns_with_persuadables(n: int, seed: int = 0) -> pd.DataFrame:
    """Randomized contacts over six monthly campaigns where a contact keeps active customers after
    a late delivery (-0.35 churn) and does nothing for the rest, while churn itself rises with
    silence: value at risk points at the lapsed, the effect sits with the recently let down."""
    from features.catalogue import FEATURE_NAMES

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: np.full(n, np.nan) for name in FEATURE_NAMES})
    silence = rng.uniform(1, 200, n)
    late = rng.poisson(0.4, n).astype(float)
    frame["days_since_last_order"] = silence
    frame["late_deliveries_90d"] = late
    frame["orders_365d"] = rng.poisson(5, n) + 1.0
    frame["orders_per_day_365d"] = frame["orders_365d"] / 365
    frame["avg_order_value"] = rng.uniform(20, 120, n)
    treated = rng.random(n) < 0.5
    base = 1 / (1 + np.exp(-(-1.5 + 0.02 * silence + 0.6 * late)))
    persuadable = (late > 0) & (silence < 60)
    churn = np.clip(base - 0.35 * (treated & persuadable), 0, 1)
    frame["churned"] = (rng.random(n) < churn).astype(int)
    frame["group"] = np.where(treated, "treated", "control")
    frame["playbook"] = rng.choice(["apology_status_update", "win_back_offer"], n)
    frame["cutoff"] = pd.to_datetime("2025-01-01") + pd.to_timedelta(
        30 * rng.integers(0, 6, n), unit="D"
    )
    frame["customer_id"] = [f"c{i:05d}" for i in range(n)]
    return frame


def test_on_held_out_campaigns_the_uplift_model_s_qini_beats_value_at_risk() -> None:
    from training.uplift import evaluate_uplift, fit_uplift, split_by_time, usable_features

    frame = _campaigns_with_persuadables(8_000)
    fit, held = split_by_time(frame, 0.3)
    assert fit["cutoff"].max() < held["cutoff"].min()  # judged on later campaigns only
    config = UpliftConfig(min_treated_per_playbook=100, min_control=100)
    model = fit_uplift(fit, usable_features(fit), 90, config)
    metrics = evaluate_uplift(model, held, 90, top_share=0.2)
    assert metrics.qini_model > metrics.qini_value_at_risk + 0.01
    assert metrics.uplift_at_k_model > metrics.uplift_at_k_value_at_risk
    assert decide_uplift(metrics).passed


def test_too_little_history_says_what_is_needed(settings: Settings) -> None:
    with pytest.raises(UpliftDataError, match="control contacts"):
        train_uplift(horizon_days=90, settings=settings, config=UpliftConfig(min_control=10**6))


def test_qini_from_the_library_ranks_a_true_uplift_above_its_reverse() -> None:
    from sklift.metrics import qini_auc_score

    rng = np.random.default_rng(0)
    effect = rng.uniform(0, 0.4, 4_000)
    treated = rng.random(4_000) < 0.5
    retained = rng.random(4_000) < 0.3 + effect * treated
    frame = pd.DataFrame({"y": retained.astype(int), "t": treated.astype(int)})
    assert qini_auc_score(frame["y"], effect, frame["t"]) > qini_auc_score(
        frame["y"], -effect, frame["t"]
    )


def test_the_saving_prior_fitted_to_the_campaigns_is_logged_and_drives_when_it_passes(
    settings: Settings,
) -> None:
    from churnguard.daily import uplift_of_the_day
    from churnguard.uplift_job import saving_prior_spec
    from features.snapshot import build_snapshot
    from outreach.playbooks import load_playbooks
    from outreach.saving import prior_uplift

    playbooks = load_playbooks()
    result = train_uplift(
        horizon_days=90, settings=settings, config=SMALL, saving_prior=saving_prior_spec(playbooks)
    )
    assert "fitted saving prior: held-out log-loss" in result.saving_prior_note
    model, version = load_uplift(
        settings.tracking_uri, f"models:/{UPLIFT_MODEL_NAME}/{result.version}"
    )
    fitted = model.metadata["saving_prior"]
    assert set(fitted["coefficients"]) >= {"apology_status_update", "win_back_offer", "default"}
    expected = "t-learner" if result.gate.passed else ("saving prior" if fitted["passed"] else None)
    assert model.metadata["drives"] == result.drives == expected
    run = mlflow.MlflowClient(settings.tracking_uri).get_run(version.run_id)
    assert "saving_prior_held_out_log_loss" in run.data.metrics

    # whichever the registry says drives, the daily's expected savings follow it
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.set_registered_model_alias(UPLIFT_MODEL_NAME, CHAMPION_ALIAS, result.version)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        snapshot = build_snapshot(con, pd.Timestamp("2025-10-01").date(), 365)
    finally:
        con.close()
    assert len(snapshot) > 0
    probability = np.full(len(snapshot), 0.5)
    uplift, source = uplift_of_the_day(snapshot, probability, playbooks, settings.tracking_uri, 90)
    if result.drives == "saving prior":
        assert source.kind == "saving prior fitted to the campaigns"
        want = prior_uplift(snapshot, probability, playbooks, 90, fitted["coefficients"])
        pd.testing.assert_frame_equal(uplift, want)
    else:
        assert source.kind == "uplift model"
