"""Expected saving: how much of a customer's value a contact with each playbook is expected to keep
(predicted drop in churn probability x expected value), from the uplift model or the prior.

Pure functions over DataFrames. `prior_uplift` is the documented prior of `playbooks.yaml`; the
daily job hands `expected_savings` either the uplift model's predictions or the prior's, and says
which in the run report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from outreach.playbooks import DEFAULT_PLAYBOOK, Playbooks

# Snapshot features the prior reads (all in the feature catalogue).
PRIOR_FEATURES = (
    "days_since_last_order",
    "days_overdue_vs_usual_gap",
    "days_since_last_late_delivery",
    "failed_deliveries_90d",
    "open_overdue_orders",
    "days_since_last_negative_feedback",
    "worst_rating_90d",
    "support_tickets_90d",
)
# With a single order there is no usual gap: such a customer is taken as due this many days after it.
SINGLE_ORDER_DUE_DAYS = 45.0


@dataclass(frozen=True)
class SavingSource:
    """Where today's expected savings come from, for the run report."""

    kind: str  # "uplift model" or "prior"
    detail: str  # which model version, or why the prior is in use

    def describe(self) -> str:
        return f"{self.kind}: {self.detail}"


def reason_playbooks(playbooks: Playbooks) -> list[str]:
    """Playbooks a customer can be given by expected saving: the reason playbooks and the default
    (precedence rules pick a team, not an effect)."""
    return [*playbooks.playbooks, DEFAULT_PLAYBOOK]


def _freshness(days_since: pd.Series, fresh_days: float) -> np.ndarray:
    return np.exp(-np.nan_to_num(days_since.to_numpy(dtype="float64"), nan=np.inf) / fresh_days)


def prior_uplift(
    features: pd.DataFrame, churn_probability: np.ndarray, playbooks: Playbooks
) -> pd.DataFrame:
    """Per playbook: churn probability x the share of it the playbook's prior says one contact
    removes (playbooks.yaml explains the formula); rows as in `features`."""
    missing = [name for name in PRIOR_FEATURES if name not in features.columns]
    if missing:
        raise ValueError(f"prior_uplift: the snapshot lacks features {missing}")
    prior = playbooks.saving_prior
    overdue = features["days_overdue_vs_usual_gap"].fillna(
        features["days_since_last_order"] - SINGLE_ORDER_DUE_DAYS
    )
    due = np.exp(-np.clip(overdue.to_numpy(dtype="float64"), 0, None) / prior.fade_days)
    delivery = np.maximum.reduce(
        [
            _freshness(features["days_since_last_late_delivery"], prior.fresh_days),
            (features["failed_deliveries_90d"].fillna(0).to_numpy() > 0)
            * _freshness(features["days_since_last_order"], prior.fresh_days),
            (features["open_overdue_orders"].fillna(0).to_numpy() > 0).astype(float),
        ]
    )
    complaint = np.maximum.reduce(
        [
            _freshness(features["days_since_last_negative_feedback"], prior.fresh_days),
            (features["worst_rating_90d"].fillna(5).to_numpy() <= 2) * 0.5,
            (features["support_tickets_90d"].fillna(0).to_numpy() > 0) * 0.5,
        ]
    )
    probability = np.asarray(churn_probability, dtype="float64")
    out = {}
    for name in reason_playbooks(playbooks):
        effect = playbooks.action(name).prior
        share = effect.due * due + effect.after_delivery_problem * delivery
        share = share + effect.after_complaint * complaint
        out[name] = probability * np.clip(share, -1.0, 1.0)
    return pd.DataFrame(out, index=features.index)


def expected_savings(uplift: pd.DataFrame, expected_value: np.ndarray) -> pd.DataFrame:
    """Per playbook: predicted drop in churn probability x expected value over the horizon."""
    return uplift.mul(np.asarray(expected_value, dtype="float64"), axis=0)


def best_playbook(savings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the playbook with the largest expected saving, and that saving (ties: the first
    column, i.e. playbooks.yaml's order)."""
    values = savings.to_numpy(dtype="float64")
    values = np.where(np.isnan(values), -np.inf, values)
    best = values.argmax(axis=1)
    names = np.asarray(savings.columns, dtype=object)[best]
    return names, values[np.arange(len(values)), best]
