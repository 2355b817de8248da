"""BG/NBD recovers the parameters it was simulated with; its closed forms agree with simulation."""

from __future__ import annotations

import numpy as np
import pytest

from training.baselines import (
    BGNBDParams,
    bgnbd_expected_purchases,
    bgnbd_p_alive,
    bgnbd_p_no_purchase,
    fit_bgnbd,
)

TRUE = BGNBDParams(r=0.6, alpha=30.0, a=0.8, b=2.5)  # days: a purchase every ~50 days while alive


def simulate(params: BGNBDParams, T: np.ndarray, horizon: float, seed: int):
    """The BG/NBD story: Poisson purchases while alive, dropout with prob p after each repeat."""
    rng = np.random.default_rng(seed)
    n = len(T)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    x = np.zeros(n, dtype=int)
    t_x = np.zeros(n)
    bought_later = np.zeros(n, dtype=bool)
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1.0 / lam[i])
            if t > T[i] + horizon:
                break
            if t > T[i]:
                bought_later[i] = True
                break
            x[i] += 1
            t_x[i] = t
            alive = rng.uniform() >= p[i]
    return x, t_x, bought_later


@pytest.fixture(scope="module")
def simulated():
    T = np.random.default_rng(1).uniform(200, 400, 6_000)
    x, t_x, bought_later = simulate(TRUE, T, horizon=90, seed=2)
    return x, t_x, T, bought_later


def test_fit_recovers_known_parameters(simulated):
    x, t_x, T, _ = simulated
    fitted = fit_bgnbd(x, t_x, T)
    # r/alpha (the mean purchase rate) and a/(a+b) (the mean dropout probability) are well identified
    assert fitted.r / fitted.alpha == pytest.approx(TRUE.r / TRUE.alpha, rel=0.15)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(TRUE.a / (TRUE.a + TRUE.b), rel=0.2)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.25)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.35)


def test_p_no_purchase_matches_simulated_share(simulated):
    x, t_x, T, bought_later = simulated
    predicted = bgnbd_p_no_purchase(TRUE, x, t_x, T, horizon_days=90)
    assert predicted.mean() == pytest.approx(1 - bought_later.mean(), abs=0.02)
    # and it ranks: customers who did buy had a lower predicted P(no purchase)
    assert predicted[bought_later].mean() < predicted[~bought_later].mean() - 0.1


def test_closed_forms_behave():
    x = np.array([0, 5, 5, 5])
    t_x = np.array([0.0, 300.0, 100.0, 300.0])
    T = np.array([365.0, 365.0, 365.0, 365.0])
    alive = bgnbd_p_alive(TRUE, x, t_x, T)
    assert alive[0] == 1.0  # no repeat purchase: cannot have dropped out under BG/NBD
    assert alive[1] > alive[2]  # a recent last purchase means more likely alive
    none = bgnbd_p_no_purchase(TRUE, x, t_x, T, 90)
    assert np.all((none > 0) & (none < 1))
    assert none[2] > none[1]
    assert np.all(bgnbd_p_no_purchase(TRUE, x, t_x, T, 180) <= none)  # longer window, more chance
    expected = bgnbd_expected_purchases(TRUE, x, t_x, T, 90)
    assert expected[1] > expected[2] > 0


def test_fit_rejects_impossible_inputs():
    with pytest.raises(ValueError, match="t_x <= T"):
        fit_bgnbd(np.array([1]), np.array([10.0]), np.array([5.0]))


def test_fitted_per_cutoff_on_every_known_customer_as_the_baseline_is():
    """The model's prior at a cutoff is the baseline's own BG/NBD fit there, lapsed customers too."""
    from datetime import date, datetime

    import duckdb
    import pandas as pd

    from training.baselines import fit_bgnbd_by_cutoff, purchase_summary

    rng = np.random.default_rng(3)
    days = np.sort(rng.uniform(0, 700, 4_000))
    weights = rng.gamma(0.7, 1.0, 600)  # some customers buy far more often than others
    weights /= weights.sum()
    orders = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in rng.choice(600, len(days), p=weights)],
            "ordered_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
        }
    )
    con = duckdb.connect()
    con.register("orders", orders)
    cutoffs = [date(2024, 9, 1), date(2025, 6, 1)]
    fitted = fit_bgnbd_by_cutoff(con, cutoffs)
    assert list(fitted) == cutoffs
    for cutoff in cutoffs:
        summary = purchase_summary(con, datetime(cutoff.year, cutoff.month, cutoff.day))
        assert fitted[cutoff] == fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    assert fitted[cutoffs[0]] != fitted[cutoffs[1]]


def test_a_baseline_packaged_as_the_model_ranks_exactly_as_the_rule_and_says_why(tmp_path):
    """The honest baseline champion: same pyfunc files and outputs, scores ordered as the rule."""
    import numpy as np
    import pandas as pd

    from common.names import ReasonCode
    from models.prior import BGNBDParams
    from models.scorer import ChurnScorer
    from training.backtest import rule_scores
    from training.baselines import rule_scorer
    from training.metrics import roc_auc

    rng = np.random.default_rng(1)
    n = 600
    tenure = rng.uniform(60, 400, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "days_since_last_order": tenure * rng.uniform(0, 1, n),
            "days_since_first_order": tenure,
            "orders_total": rng.integers(1, 12, n).astype(float),
        }
    )
    frame["churned"] = (rng.uniform(size=n) < frame["days_since_last_order"] / 400).astype(int)
    params = BGNBDParams(0.8, 40.0, 0.6, 2.5)
    for kind in ("recency", "bgnbd"):
        scorer = rule_scorer(kind, frame, frame, params, 90, "v-test")
        again = ChurnScorer.load(scorer.save(tmp_path / kind))
        assert again.kind == kind and again.booster is None
        scored = again.score_frame(frame, reasons=True)
        rule = rule_scores(frame, params, 90)[kind]
        y = frame["churned"].to_numpy()
        assert abs(roc_auc(y, scored["churn_probability"]) - roc_auc(y, rule)) < 1e-9
        assert scored["churn_probability"].between(0, 1).all()
        silent = frame["days_since_last_order"].idxmax()
        codes = [r["code"] for r in scored.loc[silent, "reasons"]]
        assert ReasonCode.LONG_INACTIVE in codes, codes
