"""The terms of the saving prior: per customer, how due they are, how freshly they lapsed (if they
have likely left), and how fresh their latest delivery problem and complaint are (if they are likely
still here), each in [0, 1]. A playbook's share of churn
risk one contact removes is a weighted sum of these terms; the weights come from `playbooks.yaml`
(the documented prior) or from the shop's own campaigns (`training.uplift.fit_saving_prior`), so
both read the terms from this one definition.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

# Snapshot features the terms read (all in the feature catalogue).
SAVING_FEATURES = (
    "days_since_last_order",
    "days_overdue_vs_usual_gap",
    "days_since_last_late_delivery",
    "failed_deliveries_90d",
    "open_overdue_orders",
    "days_since_last_negative_feedback",
    "worst_rating_90d",
    "support_tickets_90d",
    "orders_per_day_365d",
)
# The weights' names, as `playbooks.yaml` spells them.
SAVING_TERMS = ("due", "after_lapse", "after_delivery_problem", "after_complaint")
# With a single order there is no usual gap: such a customer is taken as due this many days after it.
SINGLE_ORDER_DUE_DAYS = 45.0

Coefficients = Mapping[str, Mapping[str, float]]  # playbook -> term -> weight


def _freshness(days_since: pd.Series, fresh_days: float) -> np.ndarray:
    return np.exp(-np.nan_to_num(days_since.to_numpy(dtype="float64"), nan=np.inf) / fresh_days)


def still_here(
    churn_probability: np.ndarray, orders_per_day: np.ndarray, horizon_days: int
) -> np.ndarray:
    """P(the customer is still a customer) from their churn probability over the horizon and their
    usual order rate: churn = P(left) + P(still here) x exp(-rate x horizon) (a customer still here
    orders as a Poisson process), solved for P(still here). A frequent buyer at churn 0.9 has most
    likely left; a yearly buyer at 0.6 most likely has not."""
    rate = np.fmax(np.nan_to_num(np.asarray(orders_per_day, dtype="float64"), nan=0.0), 1 / 365)
    quiet_if_here = np.exp(-rate * horizon_days)
    probability = np.asarray(churn_probability, dtype="float64")
    return np.clip((1.0 - probability) / (1.0 - quiet_if_here), 0.0, 1.0)


def saving_terms(
    features: pd.DataFrame,
    fade_days: float,
    fresh_days: float,
    churn_probability: np.ndarray,
    horizon_days: int,
) -> pd.DataFrame:
    """One column per SAVING_TERMS, rows as in `features`, with here = `still_here`:
    due = exp(-days past the usual next order / fade_days) (1 while not yet past it);
    after_lapse = (1 - here) x the same, for a customer already past it (a win-back offer reaches
    one who has left, and less the longer they have been gone);
    after_delivery_problem = here x freshness of the latest late, failed or overdue delivery;
    after_complaint = here x freshness of the latest negative feedback (0.5 for a low rating or a
    ticket in the last 90 days without a dated negative text), where freshness = exp(-days /
    fresh_days): an apology mends the experience of a customer who is still there to hear it."""
    missing = [name for name in SAVING_FEATURES if name not in features.columns]
    if missing:
        raise ValueError(f"saving terms: the snapshot lacks features {missing}")
    overdue = features["days_overdue_vs_usual_gap"].fillna(
        features["days_since_last_order"] - SINGLE_ORDER_DUE_DAYS
    )
    past_due = overdue.to_numpy(dtype="float64")
    due = np.exp(-np.clip(past_due, 0, None) / fade_days)
    delivery = np.maximum.reduce(
        [
            _freshness(features["days_since_last_late_delivery"], fresh_days),
            (features["failed_deliveries_90d"].fillna(0).to_numpy() > 0)
            * _freshness(features["days_since_last_order"], fresh_days),
            (features["open_overdue_orders"].fillna(0).to_numpy() > 0).astype(float),
        ]
    )
    complaint = np.maximum.reduce(
        [
            _freshness(features["days_since_last_negative_feedback"], fresh_days),
            (features["worst_rating_90d"].fillna(5).to_numpy() <= 2) * 0.5,
            (features["support_tickets_90d"].fillna(0).to_numpy() > 0) * 0.5,
        ]
    )
    here = still_here(churn_probability, features["orders_per_day_365d"].to_numpy(), horizon_days)
    return pd.DataFrame(
        {
            "due": due,
            "after_lapse": (past_due > 0) * due * (1.0 - here),
            "after_delivery_problem": delivery * here,
            "after_complaint": complaint * here,
        },
        index=features.index,
    )


def saving_uplift(
    terms: pd.DataFrame, churn_probability: np.ndarray, coefficients: Coefficients
) -> pd.DataFrame:
    """Per playbook: churn probability x its share of it one contact removes (the weighted terms,
    clipped to [-1, 1]); rows as in `terms`."""
    matrix = terms[list(SAVING_TERMS)].to_numpy(dtype="float64")
    probability = np.asarray(churn_probability, dtype="float64")
    out = {}
    for playbook, weights in coefficients.items():
        vector = np.array([float(weights.get(term, 0.0)) for term in SAVING_TERMS])
        out[playbook] = probability * np.clip(matrix @ vector, -1.0, 1.0)
    return pd.DataFrame(out, index=terms.index)
