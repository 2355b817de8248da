"""The BG/NBD prior: the model boosts from BG/NBD's log-odds of "no purchase in the horizon".

On small shops a 4-parameter buy-till-you-die model is hard to beat from orders alone; starting the
trees from it means they only learn what it misses (deliveries, feedback, trends), and early stopping
falls back to it when they cannot. The closed forms (Fader, Hardie & Lee 2005) live here because
serving needs them; `training.baselines` fits the parameters. Inputs come from catalogue features:
x = orders_total - 1, T = days_since_first_order, t_x = T - days_since_last_order.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

RECENCY = "days_since_last_order"
TENURE = "days_since_first_order"
FREQUENCY = "orders_total"
PRIOR_FEATURES = (RECENCY, TENURE, FREQUENCY)


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def p_alive(params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still a customer | x repeat purchases, the last at t_x, observed for T days)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    with np.errstate(divide="ignore", over="ignore"):
        odds_dead = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * np.exp(log_ratio), 0.0)
    return 1.0 / (1.0 + odds_dead)


def p_no_purchase(
    params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, horizon_days: float
) -> np.ndarray:
    """P(no purchase in (T, T + horizon]) = 1 - P(alive) + P(alive) ((alpha+T)/(alpha+T+H))^(r+x)."""
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    alive = p_alive(params, x, t_x, T)
    none_if_alive = np.exp(
        (params.r + x) * (np.log(params.alpha + T) - np.log(params.alpha + T + horizon_days))
    )
    return 1.0 - alive + alive * none_if_alive


def log_odds_no_purchase(
    params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, horizon_days: float
) -> np.ndarray:
    """logit(P(no purchase in the horizon)) computed in log space: no clipping, so customers whose
    probability is within 1e-7 of 1 are still ranked apart, exactly as `p_no_purchase` ranks them."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = np.where(
            x > 0,
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-12))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
            -np.inf,
        )
        log_alive = -np.logaddexp(0.0, log_odds_dead)
        log_none = (r + x) * (np.log(alpha + T) - np.log(alpha + T + horizon_days))
        log_stays = log_alive + np.log(-np.expm1(log_none))  # log(1 - p): alive and buys
        return np.log(-np.expm1(log_stays)) - log_stays


def _softplus(z: float) -> float:
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def rfm_from_features(
    recency: np.ndarray, tenure: np.ndarray, orders: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) from days since last order, days since first order and orders ever."""
    T = np.maximum(np.nan_to_num(np.asarray(tenure, dtype=np.float64), nan=0.0), 0.0)
    x = np.maximum(np.nan_to_num(np.asarray(orders, dtype=np.float64), nan=1.0) - 1.0, 0.0)
    recency = np.nan_to_num(np.asarray(recency, dtype=np.float64), nan=0.0)
    t_x = np.where(x > 0, np.clip(T - recency, 0.0, T), 0.0)
    return x, t_x, T


@dataclass(frozen=True)
class BGNBDPrior:
    """BG/NBD log-odds of churn from three catalogue features; reference values anchor explanations."""

    params: BGNBDParams
    horizon_days: int
    reference_recency: float  # median of the reference population, the "typical customer"
    reference_orders: float
    # BG/NBD's log-odds rescaled on the training rows, so the trees spend no effort on the base rate
    slope: float = 1.0
    intercept: float = 0.0

    def _margin(self, recency: np.ndarray, tenure: np.ndarray, orders: np.ndarray) -> np.ndarray:
        x, t_x, T = rfm_from_features(recency, tenure, orders)
        return (
            self.slope * log_odds_no_purchase(self.params, x, t_x, T, self.horizon_days)
            + self.intercept
        )

    def margin(self, X: np.ndarray, index: tuple[int, int, int]) -> np.ndarray:
        """Log-odds per row; `index` = columns of (recency, tenure, orders) in X."""
        r, t, o = index
        if X.shape[0] == 1:  # the online path: plain floats are ~20x faster than numpy on one row
            return np.array([self._margin_one(X[0, r], X[0, t], X[0, o])])
        return self._margin(X[:, r], X[:, t], X[:, o])

    def _margin_one(self, recency: float, tenure: float, orders: float) -> float:
        """`_margin` for one customer, the same formulas in `math`."""
        T = max(0.0 if math.isnan(tenure) else float(tenure), 0.0)
        x = max((1.0 if math.isnan(orders) else float(orders)) - 1.0, 0.0)
        recency = 0.0 if math.isnan(recency) else float(recency)
        t_x = min(max(T - recency, 0.0), T) if x > 0 else 0.0
        r, alpha, a, b = self.params.r, self.params.alpha, self.params.a, self.params.b
        log_alive = 0.0
        if x > 0:
            log_odds_dead = (
                math.log(a)
                - math.log(max(b + x - 1, 1e-12))
                + (r + x) * (math.log(alpha + T) - math.log(alpha + t_x))
            )
            log_alive = -_softplus(log_odds_dead)
        log_none = (r + x) * (math.log(alpha + T) - math.log(alpha + T + self.horizon_days))
        log_stays = log_alive + math.log(-math.expm1(log_none))  # log(1 - p): alive and buys
        margin = math.log(-math.expm1(log_stays)) - log_stays
        return self.slope * margin + self.intercept

    def attribution(
        self, X: np.ndarray, index: tuple[int, int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The prior's departure from a typical customer's, split exactly between recency and
        frequency (two-player Shapley values, tenure held at the customer's own)."""
        r, t, o = index
        recency, tenure, orders = X[:, r], X[:, t], X[:, o]
        ref_r = np.full_like(recency, self.reference_recency)
        ref_o = np.full_like(orders, self.reference_orders)
        both = self._margin(recency, tenure, orders)
        only_r = self._margin(recency, tenure, ref_o)
        only_o = self._margin(ref_r, tenure, orders)
        none = self._margin(ref_r, tenure, ref_o)
        phi_recency = 0.5 * ((both - only_o) + (only_r - none))
        phi_orders = 0.5 * ((both - only_r) + (only_o - none))
        return phi_recency, phi_orders

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "bgnbd",
            "params": self.params.to_dict(),
            "horizon_days": self.horizon_days,
            "reference_recency": self.reference_recency,
            "reference_orders": self.reference_orders,
            "slope": self.slope,
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict) -> BGNBDPrior:
        return cls(
            params=BGNBDParams(**{k: float(v) for k, v in data["params"].items()}),
            horizon_days=int(data["horizon_days"]),
            reference_recency=float(data["reference_recency"]),
            reference_orders=float(data["reference_orders"]),
            slope=float(data.get("slope", 1.0)),
            intercept=float(data.get("intercept", 0.0)),
        )


RECENCY_SCALE_DAYS = 30.0


@dataclass(frozen=True)
class RecencyRule:
    """Days since the last order as a model: log-odds slope * log((days + 0.5) / 30) + intercept.

    The rule a shop already has, packaged like the trees (calibrated, with percentiles and reasons)
    so the registry can hold it as the champion when the trees do not beat it. Monotone in the days,
    so it ranks customers exactly as sorting by days since the last order does."""

    reference_recency: float
    slope: float = 1.0
    intercept: float = 0.0

    def margin(self, X: np.ndarray, index: tuple[int, int, int]) -> np.ndarray:
        days = np.maximum(np.nan_to_num(X[:, index[0]], nan=0.0), 0.0)
        return self.slope * np.log((days + 0.5) / RECENCY_SCALE_DAYS) + self.intercept

    def attribution(
        self, X: np.ndarray, index: tuple[int, int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """All of the departure from a typical customer's log-odds is the silence's."""
        typical = np.full((1, X.shape[1]), self.reference_recency)
        phi = self.margin(X, index) - self.margin(typical, index)
        return phi, np.zeros_like(phi)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "recency",
            "reference_recency": self.reference_recency,
            "slope": self.slope,
            "intercept": self.intercept,
        }


Prior = BGNBDPrior | RecencyRule


def prior_from_dict(data: dict) -> Prior:
    if data.get("kind") == "recency":
        return RecencyRule(
            reference_recency=float(data["reference_recency"]),
            slope=float(data.get("slope", 1.0)),
            intercept=float(data.get("intercept", 0.0)),
        )
    return BGNBDPrior.from_dict(data)
