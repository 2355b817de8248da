"""Calibrators stored as plain numbers (no pickles): map the booster's raw probability to a calibrated one.

Fitting lives in `training.calibration`; this side only applies, so serving needs numpy alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

CalibrationMethod = Literal["platt", "isotonic", "identity"]
_EPS = 1e-7


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Calibrator:
    """Platt: p = sigmoid(slope * logit(raw) + intercept). Isotonic: piecewise-linear through knots.

    The isotonic map is made strictly increasing (a tiny slope on its flat steps) so that calibration
    never ties customers the booster ranked apart: the ranking, and so ROC-AUC, stays the booster's.
    """

    method: CalibrationMethod
    slope: float = 1.0
    intercept: float = 0.0
    knots_x: tuple[float, ...] = field(default=())
    knots_y: tuple[float, ...] = field(default=())

    def apply(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "identity":
            return raw
        if self.method == "platt":
            if raw.size == 1:  # the online path: one customer, plain floats
                p = min(max(float(raw.reshape(-1)[0]), _EPS), 1 - _EPS)
                z = self.slope * math.log(p / (1 - p)) + self.intercept
                return np.full(raw.shape, 1.0 / (1.0 + math.exp(-z)))
            return sigmoid(self.slope * logit(raw) + self.intercept)
        return np.interp(raw, self.knots_x, self.knots_y)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "slope": self.slope,
            "intercept": self.intercept,
            "knots_x": list(self.knots_x),
            "knots_y": list(self.knots_y),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        return cls(
            method=data["method"],
            slope=float(data.get("slope", 1.0)),
            intercept=float(data.get("intercept", 0.0)),
            knots_x=tuple(float(x) for x in data.get("knots_x", ())),
            knots_y=tuple(float(y) for y in data.get("knots_y", ())),
        )
