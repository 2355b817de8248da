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

from models.saving_terms import (
    SAVING_TERMS,
    Coefficients,
    saving_terms,
    saving_uplift,
)
from outreach.playbooks import DEFAULT_PLAYBOOK, Playbooks


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


def prior_coefficients(playbooks: Playbooks) -> dict[str, dict[str, float]]:
    """The documented prior's weights of each saving term, per playbook (`playbooks.yaml`)."""
    return {
        name: {term: float(getattr(playbooks.action(name).prior, term)) for term in SAVING_TERMS}
        for name in reason_playbooks(playbooks)
    }


def prior_terms(
    features: pd.DataFrame, playbooks: Playbooks, churn_probability: np.ndarray, horizon_days: int
) -> pd.DataFrame:
    """The saving terms with the fade and freshness of `playbooks.yaml`'s saving_prior."""
    prior = playbooks.saving_prior
    return saving_terms(
        features, prior.fade_days, prior.fresh_days, churn_probability, horizon_days
    )


def prior_uplift(
    features: pd.DataFrame,
    churn_probability: np.ndarray,
    playbooks: Playbooks,
    horizon_days: int,
    coefficients: Coefficients | None = None,
) -> pd.DataFrame:
    """Per playbook: churn probability (over `horizon_days`) x the share of it the playbook's prior
    says one contact removes (playbooks.yaml explains the formula), or the same terms weighted by
    `coefficients` fitted to the shop's campaigns; rows as in `features`."""
    weights = prior_coefficients(playbooks)
    if coefficients is not None:
        weights.update({name: dict(w) for name, w in coefficients.items() if name in weights})
    terms = prior_terms(features, playbooks, churn_probability, horizon_days)
    return saving_uplift(terms, churn_probability, weights)


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
