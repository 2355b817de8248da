"""Metrics on arrays small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import (
    brier,
    decile_table,
    evaluate,
    expected_calibration_error,
    log_loss,
    precision_at_top,
    roc_auc,
)


def test_roc_auc_counts_correctly_ordered_pairs():
    y = np.array([0, 0, 1, 1])
    # pairs (neg, pos): (0.1,0.35) ok, (0.1,0.8) ok, (0.4,0.35) wrong, (0.4,0.8) ok -> 3/4
    assert roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert math.isnan(roc_auc(np.ones(4), np.arange(4.0)))  # one outcome: nothing to rank


def test_log_loss_and_brier_by_hand():
    y = np.array([1, 0])
    p = np.array([0.8, 0.4])
    assert log_loss(y, p) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert brier(y, p) == pytest.approx((0.2**2 + 0.4**2) / 2)


def test_expected_calibration_error_by_hand():
    # bin 0.2-0.3: two rows predicted 0.25, one churned (observed 0.5) -> |0.5 - 0.25| = 0.25
    # bin 0.9-1.0: two rows predicted 0.95, both churned -> 0.05; weights 1/2 each
    y = np.array([0, 1, 1, 1])
    p = np.array([0.25, 0.25, 0.95, 0.95])
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.25 + 0.5 * 0.05)


def test_precision_at_top_and_deciles():
    y = np.array([1] * 10 + [0] * 90)
    score = np.linspace(1, 0, 100)  # the ten churners score highest
    assert precision_at_top(y, score, 0.05) == 1.0
    assert precision_at_top(y, score, 0.10) == 1.0
    assert precision_at_top(y, -score, 0.10) == 0.0
    table = decile_table(y, score)
    assert list(table["rows"]) == [10] * 10
    assert table["lift"].iloc[0] == pytest.approx(10.0)  # 100% churn vs a 10% base rate
    assert table["cumulative_gain"].iloc[0] == 1.0


def test_evaluate_reports_every_metric():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(int)
    result = evaluate(y, p)
    assert result.roc_auc == pytest.approx(
        5 / 6, abs=0.03
    )  # uniform p, y ~ Bernoulli(p): AUC = 5/6
    assert result.ece < 0.05
    assert set(result.metrics("heldout")) >= {
        "heldout_roc_auc",
        "heldout_ece",
        "heldout_precision_top5",
    }
