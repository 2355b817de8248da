"""The saving prior's terms: who is likely still a customer, read off the churn probability and the
usual order rate, decides whether a bad experience or a lapse counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.saving_terms import SAVING_FEATURES, saving_terms, still_here


def test_still_here_solves_churn_for_the_share_of_customers_not_gone() -> None:
    # weekly buyer: quiet for 90 days only if gone, so P(still here) = 1 - churn
    weekly = still_here(np.array([0.9]), np.array([1 / 7]), 90)[0]
    assert math.isclose(weekly, 0.1 / (1 - math.exp(-90 / 7)))
    assert 0.09 < weekly < 0.11
    # a two-monthly buyer at churn 0.4: a quiet 90 days is common while still buying
    two_monthly = still_here(np.array([0.4]), np.array([1 / 60]), 90)[0]
    assert math.isclose(two_monthly, 0.6 / (1 - math.exp(-1.5)))
    # a yearly buyer at churn 0.6 is most likely still there; unknown rates read as yearly
    assert still_here(np.array([0.6, 0.6]), np.array([1 / 365, np.nan]), 90).tolist() == [1.0, 1.0]


def test_a_bad_experience_counts_for_those_still_here_and_a_lapse_for_those_gone() -> None:
    frame = pd.DataFrame({name: [np.nan, np.nan] for name in SAVING_FEATURES})
    frame["days_since_last_order"] = [40.0, 40.0]
    frame["days_overdue_vs_usual_gap"] = [10.0, 10.0]
    frame["days_since_last_late_delivery"] = [5.0, 5.0]
    frame["orders_per_day_365d"] = [1 / 30, 1 / 30]
    probability = np.array([0.3, 0.98])  # same history, one likely still buying, one gone
    terms = saving_terms(frame, 30.0, 30.0, probability, 90)
    assert terms.loc[0, "after_delivery_problem"] > 10 * terms.loc[1, "after_delivery_problem"]
    assert terms.loc[1, "after_lapse"] > 3 * terms.loc[0, "after_lapse"]
    assert terms.loc[0, "due"] == terms.loc[1, "due"]  # being due does not depend on it
