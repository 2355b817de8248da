"""The promotion gate: refuses a worse candidate or one that does not beat the baselines."""

from __future__ import annotations

import math

import pytest

from training.registry import GateTolerance, decide

GOOD = {
    "roc_auc": 0.86,
    "log_loss": 0.45,
    "baseline_recency_roc_auc": 0.83,
    "baseline_bgnbd_roc_auc": 0.85,
}


def test_accepts_a_better_candidate():
    decision = decide(GOOD, {"roc_auc": 0.84, "log_loss": 0.47})
    assert decision.passed
    assert "not worse than the champion" in decision.summary()


def test_accepts_the_first_candidate_that_beats_the_baselines():
    decision = decide(GOOD, None)
    assert decision.passed and "no current champion" in decision.summary()


@pytest.mark.parametrize("baseline", ["recency", "bgnbd"])
def test_refuses_a_candidate_that_does_not_beat_a_baseline(baseline):
    candidate = {**GOOD, f"baseline_{baseline}_roc_auc": 0.87}
    decision = decide(candidate, None)
    assert not decision.passed
    assert f"does not beat the {baseline} baseline" in decision.summary()


def test_refuses_a_candidate_worse_than_the_champion_beyond_tolerance():
    worse_auc = decide(GOOD, {"roc_auc": 0.87, "log_loss": 0.45})
    assert not worse_auc.passed and "worse than the champion's 0.8700" in worse_auc.summary()
    worse_loss = decide(GOOD, {"roc_auc": 0.86, "log_loss": 0.40})
    assert not worse_loss.passed and "log loss" in worse_loss.summary()


def test_tolerates_a_difference_within_tolerance():
    decision = decide(GOOD, {"roc_auc": 0.863, "log_loss": 0.445}, GateTolerance(0.005, 0.01))
    assert decision.passed


def test_refuses_when_the_held_out_set_has_one_outcome():
    decision = decide({**GOOD, "roc_auc": math.nan}, None)
    assert not decision.passed and "single outcome" in decision.summary()
