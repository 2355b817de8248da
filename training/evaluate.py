"""Evaluate the model and both baselines on the same held-out customers; draw the plots a reviewer reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.scorer import ChurnScorer
from training.baselines import BaselineScores
from training.calibration import fit_platt
from training.metrics import Evaluation, calibration_bins, evaluate

RECENCY_SCALE_DAYS = 30.0


def recency_pseudo_probability(days: np.ndarray) -> np.ndarray:
    """A monotone map of days-since-last-order into (0, 1), so Platt can calibrate it on the
    validation slice and the recency baseline gets the same probability metrics as the model."""
    days = np.maximum(np.asarray(days, dtype=np.float64), 0.0)
    return (days + 0.5) / (days + 0.5 + RECENCY_SCALE_DAYS)


@dataclass
class HeldOutReport:
    """Model and baselines on one held-out set."""

    model: Evaluation
    recency: Evaluation
    bgnbd: Evaluation
    orders_only: Evaluation | None = None

    def metrics(self) -> dict[str, float]:
        out = {
            **self.model.metrics("heldout"),
            **self.recency.metrics("baseline_recency"),
            **self.bgnbd.metrics("baseline_bgnbd"),
        }
        if self.orders_only is not None:
            out.update(self.orders_only.metrics("ablation_orders_only"))
        return out

    def comparison(self) -> pd.DataFrame:
        rows = {"model": self.model, "recency": self.recency, "bgnbd": self.bgnbd}
        if self.orders_only is not None:
            rows["model_orders_only"] = self.orders_only
        keys = (
            "roc_auc",
            "pr_auc",
            "log_loss",
            "brier",
            "ece",
            "precision_top5",
            "precision_top10",
        )
        return pd.DataFrame({name: {k: getattr(e, k) for k in keys} for name, e in rows.items()}).T


def evaluate_held_out(
    y: np.ndarray,
    model_probability: np.ndarray,
    baselines: BaselineScores,
    valid_recency_days: np.ndarray,
    valid_y: np.ndarray,
    orders_only_probability: np.ndarray | None = None,
) -> HeldOutReport:
    """Every metric for the model and both baselines (recency calibrated on the validation slice)."""
    recency_calibrator = fit_platt(recency_pseudo_probability(valid_recency_days), valid_y)
    recency_p = recency_calibrator.apply(recency_pseudo_probability(baselines.recency_days))
    return HeldOutReport(
        model=evaluate(y, model_probability),
        recency=evaluate(y, recency_p),
        bgnbd=evaluate(y, baselines.bgnbd_p_no_purchase),
        orders_only=None
        if orders_only_probability is None
        else evaluate(y, orders_only_probability),
    )


# --- plots (matplotlib Agg, files only) ------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_gains_and_lift(report: HeldOutReport, path: Path) -> Path:
    plt = _pyplot()
    fig, (gains, lift) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, evaluation in (
        ("model", report.model),
        ("BG/NBD", report.bgnbd),
        ("recency", report.recency),
    ):
        d = evaluation.deciles
        gains.plot([0, *d["cumulative_share"]], [0, *d["cumulative_gain"]], marker="o", label=name)
        lift.plot(d["decile"], d["lift"], marker="o", label=name)
    gains.plot([0, 1], [0, 1], "k--", lw=0.8, label="random")
    gains.set(xlabel="share of customers contacted (by risk)", ylabel="share of churners reached")
    gains.set_title("Cumulative gains, held-out cutoff")
    lift.axhline(1.0, color="k", lw=0.8, ls="--")
    lift.set(
        xlabel="risk decile (1 = highest)", ylabel="churn rate / base rate", title="Lift per decile"
    )
    gains.legend()
    lift.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_calibration(y: np.ndarray, report_probs: dict[str, np.ndarray], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    for name, p in report_probs.items():
        table = calibration_bins(y, p)
        ax.plot(table["predicted"], table["observed"], marker="o", label=name)
    ax.set(xlabel="predicted churn probability", ylabel="observed churn rate", title="Calibration")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_feature_importance(scorer: ChurnScorer, path: Path, top: int = 25) -> Path:
    plt = _pyplot()
    gain = scorer.booster.feature_importance(importance_type="gain")
    order = np.argsort(gain)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(order) + 1.5))
    ax.barh([scorer.feature_names[i] for i in order], gain[order])
    ax.set(xlabel="total gain", title="Feature importance (gain)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def contribution_summary(scorer: ChurnScorer, X: np.ndarray, max_rows: int = 2000) -> pd.DataFrame:
    """Per feature: mean |contribution|, mean positive contribution and the share of customers it
    pushed up (TreeSHAP on up to `max_rows` held-out rows)."""
    rows = X[:max_rows]
    contrib = scorer.contributions(rows)[:, :-1]
    return (
        pd.DataFrame(
            {
                "feature": scorer.feature_names,
                "mean_abs_contribution": np.abs(contrib).mean(axis=0),
                "mean_positive_contribution": np.clip(contrib, 0, None).mean(axis=0),
                "share_raising_risk": (contrib > 0).mean(axis=0),
            }
        )
        .sort_values("mean_abs_contribution", ascending=False)
        .reset_index(drop=True)
    )


def plot_contributions(summary: pd.DataFrame, path: Path, top: int = 20) -> Path:
    plt = _pyplot()
    head = summary.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(head) + 1.5))
    ax.barh(head["feature"], head["mean_abs_contribution"], label="mean |contribution|")
    ax.barh(head["feature"], head["mean_positive_contribution"], label="mean risk-raising part")
    ax.set(xlabel="log-odds", title="TreeSHAP contribution summary (held-out)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
