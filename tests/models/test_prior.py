"""The BG/NBD prior inside the artifact: one customer online gives what a batch gives."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import Calibrator
from models.prior import BGNBDParams, BGNBDPrior, p_no_purchase, rfm_from_features

PRIOR = BGNBDPrior(BGNBDParams(0.8, 35.0, 1.2, 9.0), 90, 40.0, 4.0, slope=0.9, intercept=0.1)
INDEX = (0, 1, 2)  # recency, tenure, orders


def customers(n: int) -> np.ndarray:
    rng = np.random.default_rng(4)
    tenure = rng.uniform(0, 900, n)
    recency = tenure * rng.uniform(0, 1, n)
    orders = rng.integers(1, 30, n).astype(float)
    X = np.column_stack([recency, tenure, orders])
    X[::17, 0] = np.nan  # missing values take the batch path's defaults too
    X[::23, 2] = np.nan
    return X


def test_single_row_margin_equals_the_batch_margin():
    X = customers(500)
    batch = PRIOR.margin(X, INDEX)
    single = np.array([PRIOR.margin(X[i : i + 1], INDEX)[0] for i in range(len(X))])
    np.testing.assert_allclose(single, batch, rtol=1e-10, atol=1e-10)


def test_single_row_platt_equals_the_batch():
    calibrator = Calibrator("platt", slope=1.3, intercept=-0.4)
    raw = np.linspace(0.001, 0.999, 101)
    single = [calibrator.apply(raw[i : i + 1])[0] for i in range(raw.size)]
    np.testing.assert_allclose(single, calibrator.apply(raw), rtol=1e-12)


def test_prior_rises_with_silence_and_falls_with_orders():
    x, t_x, T = rfm_from_features(
        np.array([10.0, 200.0]), np.array([400.0, 400.0]), np.array([8.0, 8.0])
    )
    p = p_no_purchase(PRIOR.params, x, t_x, T, 90)
    assert p[1] > p[0]
    X = np.array([[30.0, 400.0, 2.0], [30.0, 400.0, 20.0]])
    assert PRIOR.margin(X, INDEX)[0] > PRIOR.margin(X, INDEX)[1]


def test_attribution_adds_up_to_the_departure_from_a_typical_customer():
    X = customers(200)
    X = X[~np.isnan(X).any(axis=1)]
    phi_recency, phi_orders = PRIOR.attribution(X, INDEX)
    typical = X.copy()
    typical[:, 0], typical[:, 2] = PRIOR.reference_recency, PRIOR.reference_orders
    assert phi_recency + phi_orders == pytest.approx(
        PRIOR.margin(X, INDEX) - PRIOR.margin(typical, INDEX), abs=1e-9
    )
