"""The saving prior fitted to a shop's campaigns: it moves playbooks.yaml's weights as far as the
randomized contacts say (all but the broad "due" term), and only keeps them when they predict the
latest campaigns better; with a margin in standard errors, only when clearly better."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.saving_terms import SAVING_FEATURES, SAVING_TERMS, saving_terms, saving_uplift
from training.uplift import SavingPriorSpec, UpliftConfig, fit_saving_prior, split_by_time

DOCUMENTED = {
    "apology_status_update": {"due": 0.02, "after_delivery_problem": 0.35, "after_complaint": 0.1},
    "win_back_offer": {"after_lapse": 0.12, "after_delivery_problem": 0.05},
    "default": {"due": 0.03, "after_delivery_problem": 0.03, "after_complaint": 0.03},
}
SPEC = SavingPriorSpec(DOCUMENTED, fade_days=30.0, fresh_days=30.0)


def campaigns(truth: dict[str, dict[str, float]], contacts: int, seed: int) -> pd.DataFrame:
    """Monthly randomized campaigns: half treated with a random playbook; churn drawn from a churn
    probability times (1 - the true share of the playbook given)."""
    rng = np.random.default_rng(seed)
    overdue = rng.normal(0, 40, contacts)
    frame = pd.DataFrame(
        {
            "days_since_last_order": np.clip(overdue + 45, 1, None),
            "days_overdue_vs_usual_gap": overdue,
            "days_since_last_late_delivery": np.where(
                rng.random(contacts) < 0.3, rng.uniform(1, 90, contacts), np.nan
            ),
            "failed_deliveries_90d": 0.0,
            "open_overdue_orders": 0.0,
            "days_since_last_negative_feedback": np.nan,
            "worst_rating_90d": np.nan,
            "support_tickets_90d": 0.0,
            "orders_per_day_365d": 1 / 30,
        }
    )
    assert set(frame.columns) == set(SAVING_FEATURES)
    frame["group"] = np.where(rng.random(contacts) < 0.5, "treated", "control")
    frame["playbook"] = rng.choice(list(DOCUMENTED), contacts)
    frame["cutoff"] = pd.Timestamp("2025-01-01") + pd.to_timedelta(
        rng.integers(0, 9, contacts) * 30, unit="D"
    )
    probability = np.clip(0.3 + overdue / 80, 0.05, 0.95)  # past their usual order: mostly gone
    terms = saving_terms(frame, SPEC.fade_days, SPEC.fresh_days, probability, 90)
    shares = saving_uplift(terms, np.ones(contacts), truth)
    given = shares.to_numpy()[np.arange(contacts), shares.columns.get_indexer(frame["playbook"])]
    churn = probability * (1 - np.where(frame["group"] == "treated", given, 0.0))
    frame["churned"] = (rng.random(contacts) < churn).astype(int)
    frame["p0"] = probability
    return frame


def fitted(truth: dict[str, dict[str, float]], contacts: int = 60_000, seed: int = 0):
    frame = campaigns(truth, contacts, seed)
    fit, held = split_by_time(frame, 0.3)
    return fit_saving_prior(
        fit, held, (fit["p0"].to_numpy(), held["p0"].to_numpy()), SPEC, UpliftConfig(), 90
    )


def test_a_win_back_offer_that_works_far_better_than_documented_is_learned_and_kept() -> None:
    truth = {**DOCUMENTED, "win_back_offer": {"after_lapse": 0.9, "after_delivery_problem": 0.05}}
    result = fitted(truth)
    assert result.coefficients["win_back_offer"]["after_lapse"] > 0.45  # from 0.12 towards 0.9
    assert result.passed, result.reason
    assert result.held_out_log_loss < result.held_out_log_loss_documented


def test_campaigns_that_agree_with_the_documented_prior_leave_its_weights_where_they_are() -> None:
    result = fitted(DOCUMENTED)
    for playbook, weights in DOCUMENTED.items():
        for term in SAVING_TERMS:
            assert abs(result.coefficients[playbook][term] - weights.get(term, 0.0)) < 0.1


def test_a_few_hundred_contacts_barely_move_the_weights() -> None:
    truth = {**DOCUMENTED, "win_back_offer": {"after_lapse": 0.6}}
    few = fitted(truth, contacts=400)
    many = fitted(truth)
    move = abs(few.coefficients["win_back_offer"]["after_lapse"] - 0.12)
    assert move < abs(many.coefficients["win_back_offer"]["after_lapse"] - 0.12)


def test_a_treated_contact_with_a_playbook_the_prior_does_not_name_is_left_out_of_the_fit() -> None:
    from training.uplift import _contacts

    frame = campaigns(DOCUMENTED, 300, seed=1)
    frame.loc[frame.index[:40], ["group", "playbook"]] = ["treated", "newsletter"]
    frame.loc[frame.index[40:50], "playbook"] = None
    contacts = _contacts(frame, frame["p0"].to_numpy(), SPEC, 90)
    unnamed = ((frame["group"] == "treated") & ~frame["playbook"].isin(list(DOCUMENTED))).sum()
    assert unnamed >= 40
    assert len(contacts.churned) == len(frame) - unnamed
    assert (contacts.playbook == -1).sum() == (frame["group"] == "control").sum()


def test_the_due_weight_stays_as_documented_and_a_margin_asks_for_a_clear_gain() -> None:
    truth = {**DOCUMENTED, "win_back_offer": {"due": 0.3, "after_lapse": 0.12}}
    result = fitted(truth, contacts=20_000)
    assert result.coefficients["win_back_offer"]["due"] == 0.0  # documented: none
    frame = campaigns(DOCUMENTED, 20_000, seed=3)
    fit, held = split_by_time(frame, 0.3)
    strict = fit_saving_prior(
        fit,
        held,
        (fit["p0"].to_numpy(), held["p0"].to_numpy()),
        SPEC,
        UpliftConfig(prior_margin_errors=3.0),
        90,
    )
    assert not strict.passed and "by more than 3 standard errors" in strict.reason
