"""ChurnScorer: probabilities, percentiles, bands, reasons and files, on a model from synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from common.names import ReasonCode
from models.scorer import ChurnScorer, FeatureSchemaError
from tests.models.conftest import FEATURES, customers


def test_predict_proba_is_a_probability_per_row(scorer):
    frame = customers(300, seed=5)
    p = scorer.predict_proba(scorer.matrix(frame))
    assert p.shape == (300,)
    assert np.all((p > 0) & (p < 1))
    assert scorer.predict_proba(scorer.matrix(frame)[0]).shape == (1,)  # one row, 1-D input


def test_percentiles_and_bands_follow_the_probability(scorer):
    p = np.linspace(0.01, 0.99, 99)
    percentile = scorer.percentile(p)
    assert np.all(np.diff(percentile) >= 0) and percentile[0] >= 0 and percentile[-1] <= 100
    bands = scorer.risk_band(p)
    order = {"low": 0, "medium": 1, "high": 2}
    assert np.all(np.diff([order[b] for b in bands]) >= 0)
    assert set(bands) == {"low", "medium", "high"}


def test_reasons_name_what_raised_this_customers_risk(scorer):
    frame = customers(1, seed=0)
    frame.loc[:, ["days_since_last_order", "usual_gap_days", "late_deliveries_90d", "last_rating"]] = [
        20.0, 30.0, 3.0, 5.0,
    ]  # fmt: skip
    (reasons,) = scorer.explain(scorer.matrix(frame))
    assert reasons[0].code == ReasonCode.LATE_DELIVERY
    assert reasons[0].sentence == "3 late deliveries in the last 90 days"
    assert all(r.contribution > 0 for r in reasons)
    assert len({r.code for r in reasons}) == len(reasons)


def test_reasons_are_only_true_sentences(scorer):
    frame = customers(500, seed=6)
    for row, reasons in zip(frame.itertuples(), scorer.explain(scorer.matrix(frame)), strict=True):
        assert len(reasons) <= 3
        for reason in reasons:
            if reason.feature == "late_deliveries_90d":
                assert row.late_deliveries_90d >= 1
            if reason.feature == "last_rating":
                assert row.last_rating <= 3


def test_score_frame_columns(scorer):
    frame = customers(50, seed=7)
    scored = scorer.score_frame(frame)
    assert list(scored.columns) == [
        "customer_id", "churn_probability", "risk_band", "percentile", "reasons",
    ]  # fmt: skip
    assert scored["customer_id"].tolist() == frame["customer_id"].tolist()
    assert "reasons" not in scorer.score_frame(frame, reasons=False).columns


def test_missing_feature_is_a_clear_error(scorer):
    frame = customers(5, seed=8).drop(columns=["late_deliveries_90d"])
    with pytest.raises(FeatureSchemaError, match="late_deliveries_90d"):
        scorer.matrix(frame)
    with pytest.raises(FeatureSchemaError, match="expects 5"):
        scorer.predict_proba(np.zeros((1, 4)))


def test_save_and_load_give_the_same_scores(scorer, tmp_path):
    frame = customers(200, seed=9)
    again = ChurnScorer.load(scorer.save(tmp_path / "scorer"))
    assert again.feature_names == FEATURES
    np.testing.assert_allclose(
        again.predict_proba(again.matrix(frame)), scorer.predict_proba(scorer.matrix(frame))
    )
    assert again.bands == scorer.bands
    assert [r.sentence for r in again.explain(again.matrix(frame))[0]] == [
        r.sentence for r in scorer.explain(scorer.matrix(frame))[0]
    ]


def test_bands_are_thresholds_on_the_probability_and_percentile_is_the_rank(
    scorer, monkeypatch, tmp_path
):
    """A customer at 0.983 is high risk whatever the rest of the population looks like."""
    p = np.array([0.2, 0.5, 0.79, 0.8, 0.983, 0.998])
    assert scorer.risk_band(p).tolist() == ["low", "medium", "medium", "high", "high", "high"]
    assert np.all(np.diff(scorer.percentile(p)) >= 0)  # the rank is its own field
    monkeypatch.setenv("CHURNGUARD_RISK_BAND_HIGH", "0.99")
    monkeypatch.setenv("CHURNGUARD_RISK_BAND_MEDIUM", "0.9")
    configured = ChurnScorer.load(scorer.save(tmp_path / "scorer"))
    assert configured.risk_band(p).tolist() == ["low", "low", "low", "low", "medium", "high"]


def test_bands_that_do_not_make_sense_are_refused(monkeypatch):
    from models.bands import RiskBands

    monkeypatch.setenv("CHURNGUARD_RISK_BAND_HIGH", "0.4")
    with pytest.raises(ValueError, match="expected 0 < medium < high <= 1"):
        RiskBands.configured()
