"""Evaluation metrics on one held-out set: ranking, probability quality, and what outreach would see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

_EPS = 1e-12


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC; NaN when the held-out set holds one outcome only (no ranking to judge)."""
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, score))


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve for churners)."""
    y = np.asarray(y)
    if y.max() == 0:
        return float("nan")
    return float(average_precision_score(y, score))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2))


def calibration_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-width probability bins: rows, mean predicted and observed churn rate per bin."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    index = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": index, "p": p, "y": y})
    table = frame.groupby("bin").agg(
        rows=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")
    )
    return table.reset_index()


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE: row-weighted mean |observed - predicted| over equal-width probability bins."""
    table = calibration_bins(y, p, bins)
    weights = table["rows"] / table["rows"].sum()
    return float((weights * (table["observed"] - table["predicted"]).abs()).sum())


def decile_table(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Risk deciles (1 = highest scores): rows, churn rate, lift over the base rate, cumulative gain."""
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    # rank with a stable sort so ties split by position, never a half-empty decile
    order = np.argsort(-score, kind="stable")
    decile = np.empty(len(y), dtype=int)
    decile[order] = np.arange(len(y)) * 10 // max(len(y), 1) + 1
    frame = pd.DataFrame({"decile": decile, "y": y})
    table = frame.groupby("decile").agg(rows=("y", "size"), churned=("y", "sum")).reset_index()
    base = y.mean() if len(y) else float("nan")
    table["churn_rate"] = table["churned"] / table["rows"]
    table["lift"] = table["churn_rate"] / base if base > 0 else float("nan")
    total = y.sum()
    table["cumulative_gain"] = table["churned"].cumsum() / total if total > 0 else float("nan")
    table["cumulative_share"] = table["rows"].cumsum() / len(y)
    return table


def precision_at_top(y: np.ndarray, score: np.ndarray, share: float) -> float:
    """Churn rate among the top `share` of customers by score (at least one customer)."""
    y = np.asarray(y, dtype=np.float64)
    k = max(1, round(share * len(y)))
    top = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")[:k]
    return float(y[top].mean())


@dataclass(frozen=True)
class Evaluation:
    """Every headline metric of one scorer on one held-out set, plus its decile table."""

    rows: int
    churn_rate: float
    roc_auc: float
    pr_auc: float
    log_loss: float
    brier: float
    ece: float
    precision_top5: float
    precision_top10: float
    lift_top_decile: float
    deciles: pd.DataFrame

    def metrics(self, prefix: str) -> dict[str, float]:
        names = (
            "rows", "churn_rate", "roc_auc", "pr_auc", "log_loss", "brier", "ece",
            "precision_top5", "precision_top10", "lift_top_decile",
        )  # fmt: skip
        return {f"{prefix}_{name}": float(getattr(self, name)) for name in names}


def evaluate(y: np.ndarray, probability: np.ndarray) -> Evaluation:
    """All metrics of calibrated probabilities against 0/1 outcomes."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    if len(y) != len(p) or len(y) == 0:
        raise ValueError(
            f"evaluate needs equal, non-empty arrays, got {len(y)} labels, {len(p)} scores"
        )
    deciles = decile_table(y, p)
    return Evaluation(
        rows=len(y),
        churn_rate=float(y.mean()),
        roc_auc=roc_auc(y, p),
        pr_auc=pr_auc(y, p),
        log_loss=log_loss(y, p),
        brier=brier(y, p),
        ece=expected_calibration_error(y, p),
        precision_top5=precision_at_top(y, p, 0.05),
        precision_top10=precision_at_top(y, p, 0.10),
        lift_top_decile=float(deciles["lift"].iloc[0]),
        deciles=deciles,
    )
