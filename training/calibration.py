"""Fit a calibrator on held-out rows (never on the rows the booster was fitted on)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.optimize import minimize
from sklearn.isotonic import IsotonicRegression

from models.calibration import Calibrator, logit, sigmoid

# Isotonic needs enough of both outcomes to draw a stable staircase; below that Platt's two numbers
# are the honest amount of structure to learn.
ISOTONIC_MIN_ROWS = 5_000
ISOTONIC_MIN_PER_CLASS = 500
_STRICT_SLOPE = 1e-6
_MIN_PLATT_SLOPE = 1e-3


def fit_platt(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    """Platt scaling on the log-odds, with Platt's smoothed targets so one-class data stays finite."""
    z = logit(np.asarray(raw, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    positives, negatives = y.sum(), len(y) - y.sum()
    target = np.where(y > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = params
        p = np.clip(sigmoid(a * z + b), 1e-12, 1 - 1e-12)
        value = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
        residual = p - target
        return value, np.array([np.mean(residual * z), np.mean(residual)])

    result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    slope, intercept = (float(v) for v in result.x)
    if (
        slope < _MIN_PLATT_SLOPE
    ):  # no signal (e.g. one class): keep the ranking, predict the base rate
        slope = _MIN_PLATT_SLOPE
        intercept = float(logit(np.array([target.mean()]))[0] - slope * np.mean(z))
    return Calibrator("platt", slope=slope, intercept=intercept)


def fit_isotonic(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    """Isotonic regression stored as knots, nudged to be strictly increasing (no new ties)."""
    raw = np.asarray(raw, dtype=np.float64)
    iso = IsotonicRegression(y_min=1e-4, y_max=1 - 1e-4, out_of_bounds="clip").fit(raw, y)
    x, index = np.unique(np.asarray(iso.X_thresholds_, dtype=np.float64), return_index=True)
    fitted = np.asarray(iso.y_thresholds_, dtype=np.float64)[index]
    x = np.concatenate([[0.0], x, [1.0]]) if x[0] > 0 else np.concatenate([x, [1.0]])
    fitted = np.concatenate([[fitted[0]], fitted, [fitted[-1]]])[-len(x) :]
    x, keep = np.unique(x, return_index=True)
    fitted = np.maximum.accumulate(fitted[keep]) + _STRICT_SLOPE * x
    return Calibrator(
        "isotonic", knots_x=tuple(x.tolist()), knots_y=tuple(np.clip(fitted, 0, 1).tolist())
    )


def fit_calibrator(
    raw: np.ndarray, y: np.ndarray, method: Literal["auto", "platt", "isotonic"] = "auto"
) -> Calibrator:
    """Isotonic on large held-out slices with both outcomes well represented, else Platt."""
    y = np.asarray(y)
    if method == "auto":
        per_class = min(int(y.sum()), int(len(y) - y.sum()))
        big = len(y) >= ISOTONIC_MIN_ROWS and per_class >= ISOTONIC_MIN_PER_CLASS
        method = "isotonic" if big else "platt"
    return fit_isotonic(raw, y) if method == "isotonic" else fit_platt(raw, y)
