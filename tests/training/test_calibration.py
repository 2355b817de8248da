"""Calibrators are monotone (never reorder customers) and calibrated on the data they fit."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import Calibrator
from training.calibration import fit_calibrator, fit_isotonic, fit_platt
from training.metrics import expected_calibration_error, roc_auc


@pytest.fixture(scope="module")
def overconfident():
    """Raw scores that say 0.9 when the truth is 0.9**3: a booster overfitted to its training rows."""
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.01, 0.99, 20_000)
    y = (rng.uniform(size=raw.size) < raw**3).astype(int)
    return raw, y


@pytest.mark.parametrize("fit", [fit_platt, fit_isotonic])
def test_calibrator_is_strictly_monotone_and_keeps_the_ranking(fit, overconfident):
    raw, y = overconfident
    calibrator = fit(raw, y)
    grid = np.linspace(0.0, 1.0, 2001)
    assert np.all(np.diff(calibrator.apply(grid)) > 0)
    assert roc_auc(y, calibrator.apply(raw)) == pytest.approx(roc_auc(y, raw), abs=1e-9)


@pytest.mark.parametrize("fit", [fit_platt, fit_isotonic])
def test_calibrator_removes_the_miscalibration(fit, overconfident):
    raw, y = overconfident
    assert expected_calibration_error(y, raw) > 0.15
    assert expected_calibration_error(y, fit(raw, y).apply(raw)) < 0.03


def test_calibrator_round_trips_as_plain_numbers(overconfident):
    raw, y = overconfident
    for calibrator in (fit_platt(raw, y), fit_isotonic(raw, y)):
        again = Calibrator.from_dict(calibrator.to_dict())
        np.testing.assert_array_equal(again.apply(raw), calibrator.apply(raw))


def test_one_class_data_gives_a_finite_base_rate_calibrator():
    raw = np.linspace(0.1, 0.9, 50)
    calibrated = fit_platt(raw, np.ones(50)).apply(raw)
    assert np.all(np.isfinite(calibrated)) and calibrated.min() > 0.9
    assert np.all(np.diff(calibrated) > 0)


def test_auto_picks_platt_for_small_validation_slices(overconfident):
    raw, y = overconfident
    assert fit_calibrator(raw[:500], y[:500]).method == "platt"
    assert fit_calibrator(raw, y).method == "isotonic"
