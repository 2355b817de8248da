"""Honest baselines the model must beat on the same held-out customers.

- Recency: days since the last order (a longer silence, a higher risk).
- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): each customer buys at a
  Poisson rate lambda ~ Gamma(r, alpha) while alive and, after each purchase, drops out with
  probability p ~ Beta(a, b). Fitted by maximum likelihood on (x, t_x, T) at the cutoff: x = repeat
  purchases (distinct purchase days after the first), t_x = day of the last purchase and T = the
  cutoff, both counted from the first purchase, in days. Only orders before the cutoff are used.

P(no purchase in the next H days) has a closed form. Dropout happens only right after a purchase, so a
customer alive at T makes no purchase in (T, T+H] exactly when the Poisson process has no event there:
    P(none | alive, lambda) = exp(-lambda H),
and given alive the posterior of lambda is Gamma(r + x, alpha + T), whose Laplace transform gives
    P(none | alive) = ((alpha + T) / (alpha + T + H)) ** (r + x).
A customer who is already gone makes no purchase, so
    P(none) = 1 - P(alive) + P(alive) * ((alpha + T) / (alpha + T + H)) ** (r + x),
with P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

__all__ = [
    "BGNBDParams",
    "bgnbd_p_alive",
    "bgnbd_p_no_purchase",
    "fit_bgnbd",
    "fit_bgnbd_by_cutoff",
    "rule_scorer",
]

from common.names import ORDERS
from models.calibration import Calibrator
from models.prior import (
    FREQUENCY,
    PRIOR_FEATURES,
    RECENCY,
    TENURE,
    BGNBDParams,
    BGNBDPrior,
    RecencyRule,
    p_alive,
    p_no_purchase,
    rfm_from_features,
)
from models.scorer import ChurnScorer
from training.calibration import fit_platt


def _aggregate(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """Identical (x, t_x, T) triples counted once with a weight: a million customers fit in seconds."""
    frame = pd.DataFrame({"x": x, "t_x": t_x, "T": T})
    # sorted, so the fit does not depend on the order the rows came in (DuckDB gives no fixed order,
    # and where the likelihood is flat a different summation order ends somewhere else)
    grouped = frame.groupby(["x", "t_x", "T"], sort=True).size().reset_index(name="w")
    return (
        grouped["x"].to_numpy(np.float64),
        grouped["t_x"].to_numpy(np.float64),
        grouped["T"].to_numpy(np.float64),
        grouped["w"].to_numpy(np.float64),
    )


def bgnbd_log_likelihood(
    params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of (x, t_x, T) under BG/NBD (FHL 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(invalid="ignore", divide="ignore"):
        dropped = (
            betaln(a + 1, np.maximum(b + x - 1, 1e-12))
            - betaln(a, b)
            - (r + x) * np.log(alpha + t_x)
        )
    dropped = np.where(x > 0, dropped, -np.inf)
    return shared + np.logaddexp(alive, dropped)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, penalizer: float = 0.0) -> BGNBDParams:
    """Maximum likelihood in log-parameters (L-BFGS); `penalizer` adds an L2 pull on the parameters."""
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("BG/NBD needs at least one customer with a purchase before the cutoff")
    if np.any(t_x > T) or np.any(t_x < 0) or np.any((x == 0) & (t_x != 0)):
        raise ValueError("BG/NBD inputs must satisfy 0 <= t_x <= T and t_x = 0 when x = 0")
    xs, txs, Ts, w = _aggregate(x, t_x, T)
    total = w.sum()

    def objective(theta: np.ndarray) -> float:
        params = BGNBDParams(*np.exp(theta))
        ll = bgnbd_log_likelihood(params, xs, txs, Ts)
        return -(w @ ll) / total + penalizer * float(np.sum(np.exp(theta) ** 2))

    start = np.log([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0])
    result = minimize(objective, start, method="L-BFGS-B", bounds=[(-10, 10)] * 4)
    if not np.all(np.isfinite(result.x)):
        raise RuntimeError(f"BG/NBD fit did not converge: {result.message}")
    return BGNBDParams(*(float(v) for v in np.exp(result.x)))


bgnbd_p_alive = p_alive
bgnbd_p_no_purchase = p_no_purchase


def bgnbd_expected_purchases(
    params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, horizon_days: float
) -> np.ndarray:
    """E[purchases in (T, T + horizon]] (FHL 2005, eq. 10), via the Gauss hypergeometric 2F1."""
    from scipy.special import hyp2f1

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    z = horizon_days / (alpha + T + horizon_days)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + horizon_days)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    odds_dead = np.where(
        x > 0,
        a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + np.asarray(t_x))) ** (r + x),
        0.0,
    )
    return head * body / (1 + odds_dead)


def purchase_summary(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> pd.DataFrame:
    """Per customer with an order before `cutoff`: x, t_x, T (days) and days since the last order.

    Purchases are distinct order days (every order counts, as in the churn label); repeat purchases
    x exclude the first day.
    """
    frame = con.execute(
        f"""
        WITH days AS (
            SELECT DISTINCT customer_id, date_trunc('day', ordered_at) AS day
            FROM {ORDERS} WHERE ordered_at < ?
        ), last_order AS (
            SELECT customer_id, max(ordered_at) AS last_at FROM {ORDERS}
            WHERE ordered_at < ? GROUP BY customer_id
        )
        SELECT d.customer_id,
            count(*) - 1 AS x,
            date_diff('day', min(d.day), max(d.day)) AS t_x,
            date_diff('second', min(d.day), ?::TIMESTAMP) / 86400.0 AS T,
            date_diff('second', any_value(l.last_at), ?::TIMESTAMP) / 86400.0 AS days_since_last_order
        FROM days AS d JOIN last_order AS l USING (customer_id)
        GROUP BY d.customer_id
        """,
        [cutoff, cutoff, cutoff, cutoff],
    ).df()
    frame["x"] = frame["x"].astype("int64")
    frame["t_x"] = frame["t_x"].astype("float64")
    return frame


def fit_bgnbd_by_cutoff(
    con: duckdb.DuckDBPyConnection, cutoffs: Sequence[date]
) -> dict[date, BGNBDParams]:
    """BG/NBD fitted at each cutoff on every customer with an order before it, as the baseline is.

    The model boosts from these (see `training.fit`): BG/NBD's likelihood describes the whole
    customer base, lapsed customers included, so fitting it on the active customers alone biases it.
    """
    fitted = {}
    for cutoff in sorted(set(cutoffs)):
        summary = purchase_summary(con, datetime(cutoff.year, cutoff.month, cutoff.day))
        fitted[cutoff] = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    return fitted


@dataclass(frozen=True)
class BaselineScores:
    """Both baselines' scores for a list of customers at one cutoff (higher = more likely to churn)."""

    recency_days: np.ndarray
    bgnbd_p_no_purchase: np.ndarray
    bgnbd_params: BGNBDParams


def baseline_scores(
    summary: pd.DataFrame,
    customer_ids: pd.Series,
    horizon_days: int,
    params: BGNBDParams | None = None,
) -> BaselineScores:
    """Fit BG/NBD on every customer known at the cutoff (unless `params` were already fitted on this
    summary, as `fit_bgnbd_by_cutoff` does), then score the given customers."""
    if params is None:
        params = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    indexed = summary.set_index("customer_id")
    missing = pd.Index(customer_ids).difference(indexed.index)
    if len(missing):
        raise ValueError(
            f"{len(missing)} customers to score have no order before the cutoff, e.g. {list(missing[:3])}"
        )
    rows = indexed.loc[customer_ids.to_numpy()]
    p_none = bgnbd_p_no_purchase(params, rows["x"], rows["t_x"], rows["T"], horizon_days)
    return BaselineScores(
        recency_days=rows["days_since_last_order"].to_numpy(np.float64),
        bgnbd_p_no_purchase=np.asarray(p_none, dtype=np.float64),
        bgnbd_params=params,
    )


def rule_scorer(
    kind: str,
    calibration: pd.DataFrame,
    reference: pd.DataFrame,
    params: BGNBDParams | None,
    horizon_days: int,
    feature_schema_version: str,
    metadata: dict[str, object] | None = None,
) -> ChurnScorer:
    """A baseline rule ("bgnbd" or "recency") packaged as the model: no trees, the rule as the prior,
    Platt-calibrated on the labelled `calibration` rows (strictly monotone, so it ranks exactly as the
    rule), percentiles from `reference`. Its reasons come from the rule: silence and few orders."""
    names = list(PRIOR_FEATURES)
    recency = float(np.nanmedian(reference[RECENCY]))
    if kind == "bgnbd":
        if params is None:
            x, t_x, T = rfm_from_features(
                reference[RECENCY], reference[TENURE], reference[FREQUENCY]
            )
            params = fit_bgnbd(x, t_x, T)
        prior: BGNBDPrior | RecencyRule = BGNBDPrior(
            params, horizon_days, recency, float(np.nanmedian(reference[FREQUENCY]))
        )
    elif kind == "recency":
        prior = RecencyRule(reference_recency=recency)
    else:
        raise ValueError(f"unknown baseline rule {kind!r}: expected 'bgnbd' or 'recency'")
    bare = ChurnScorer(
        booster=None,
        calibrator=Calibrator("identity"),
        feature_names=tuple(names),
        feature_schema_version=feature_schema_version,
        horizon_days=horizon_days,
        reference_quantiles=np.zeros(1),
        prior=prior,
    )
    # Platt on the rule's log-odds, folded into the rule itself (the calibrator stays the identity):
    # a probability clipped near 0 or 1 would tie customers the rule ranks apart.
    platt = fit_platt(bare.predict_raw(bare.matrix(calibration)), calibration["churned"].to_numpy())
    prior = replace(prior, slope=platt.slope, intercept=platt.intercept)
    calibrator = Calibrator("identity")
    bare = replace(bare, prior=prior)
    return ChurnScorer.from_reference(
        booster=None,
        calibrator=calibrator,
        feature_names=names,
        feature_schema_version=feature_schema_version,
        horizon_days=horizon_days,
        reference_scores=calibrator.apply(bare.predict_raw(bare.matrix(reference))),
        metadata={"model_kind": kind, **(metadata or {})},
        prior=prior,
    )
