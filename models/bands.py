"""Risk bands: fixed thresholds on the calibrated churn probability, so "high" means the same to a
CRM user on every day and every model (a probability statement, not a rank in some population;
the rank is the separate `percentile`). Defaults and their environment variables are settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

RISK_BANDS: Final = ("low", "medium", "high")


@dataclass(frozen=True)
class RiskBands:
    """`high` from this probability up, `medium` from that one, `low` below."""

    medium: float = 0.5
    high: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.medium < self.high <= 1.0:
            raise ValueError(
                f"risk bands: expected 0 < medium < high <= 1, got medium={self.medium}, "
                f"high={self.high} (CHURNGUARD_RISK_BAND_MEDIUM, CHURNGUARD_RISK_BAND_HIGH)"
            )

    @classmethod
    def configured(cls) -> RiskBands:
        """The thresholds the settings say now."""
        from common.settings import get_settings

        settings = get_settings()
        return cls(medium=settings.risk_band_medium, high=settings.risk_band_high)

    def of(self, probabilities: np.ndarray) -> np.ndarray:
        p = np.asarray(probabilities, dtype=np.float64)
        return np.where(p >= self.high, "high", np.where(p >= self.medium, "medium", "low"))
