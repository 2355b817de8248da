"""Value at risk, defined once: what a customer is expected to spend over the horizon if they stay
(the catalogue's `orders_per_day_365d` x horizon x `avg_order_value`), times their churn probability.

The daily job, the outreach rules, the uplift model's gate and the benchmarks all call these.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def order_rate(orders_365d: Any, days_since_first_order: Any, min_days: int) -> np.ndarray:
    """Orders per day over the last year, or over the tenure when shorter (floored at `min_days`):
    the catalogue's `orders_per_day_365d` for frames that carry only its inputs (tested equal).
    A missing count is 0 orders; a missing tenure is a full year."""
    orders = np.nan_to_num(np.asarray(orders_365d, dtype="float64"), nan=0.0).clip(min=0)
    tenure = np.nan_to_num(np.asarray(days_since_first_order, dtype="float64"), nan=365.0)
    return orders / np.clip(tenure, min_days, 365)


def expected_value(orders_per_day_365d: Any, avg_order_value: Any, horizon_days: int) -> np.ndarray:
    """Spend expected over the horizon if the customer stays; a missing rate or order value counts
    as 0 (nothing known to lose)."""
    rate = np.nan_to_num(np.asarray(orders_per_day_365d, dtype="float64"), nan=0.0).clip(min=0)
    basket = np.nan_to_num(np.asarray(avg_order_value, dtype="float64"), nan=0.0).clip(min=0)
    return rate * horizon_days * basket


def value_at_risk(churn_probability: Any, expected: Any) -> np.ndarray:
    """P(churn) x expected value: what the shop loses, on average, if it does nothing."""
    return np.asarray(churn_probability, dtype="float64") * np.asarray(expected, dtype="float64")


def snapshot_expected_value(snapshot: Any, horizon_days: int) -> np.ndarray:
    """`expected_value` of every row of a catalogue snapshot."""
    return expected_value(
        snapshot["orders_per_day_365d"], snapshot["avg_order_value"], horizon_days
    )
