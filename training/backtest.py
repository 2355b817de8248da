"""Backtests: what churnguard would have scored at past dates, judged on what happened next.

At each date D the training procedure is replayed on the rows a run at D could have had: labelled
cutoffs whose label window [c, c + H) ends by D (so nothing after D is used), split as production
splits (`training.split.plan_split` with D as the test cutoff), shift guard against the customers at
D, scored at D and judged on their labels (no order in [D, D + H)). Every row comes out of the run's
own training set, so a backtest builds no feature twice: its cost is its fits.

The latest date is the run's held-out cutoff (its evaluated model is that backtest); earlier dates
step back by half a horizon. Where no date allows an honest split (history shorter than about two
horizons plus the minimum history) there is no backtest, and the run registers the better baseline:
the trees are never trusted on a promise the history cannot check.

The verdict reads the top-decile lift as a share of the best lift possible at that churn rate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.prior import PRIOR_FEATURES, BGNBDParams, p_no_purchase, rfm_from_features
from training.calibration import fit_platt
from training.evaluate import recency_pseudo_probability
from training.metrics import evaluate
from training.split import TimeSplit, plan_split, split_frame

log = logging.getLogger(__name__)

BACKTEST_DATES = 3
# The trees are registered only when, on the backtests, they beat the better rule by this much on
# average and never fall below it by more than RULE_TOLERANCE at any date.
TREES_MIN_MARGIN = 0.002
RULE_TOLERANCE = 0.002
# Share of the best possible top-decile lift (lift - 1) / (min(10, 1 / churn rate) - 1).
VERDICT_THRESHOLDS: tuple[tuple[str, float], ...] = (
    ("excellent", 0.6),
    ("good", 0.4),
    ("fair", 0.2),
    ("poor", float("-inf")),
)
KINDS = ("model", "recency", "bgnbd")
MEASURES = ("roc_auc", "pr_auc", "lift_top_decile", "ece")


@dataclass(frozen=True)
class BacktestDate:
    """One replayed date: its split, its rows and each scorer's figures."""

    as_of: date
    strategy: str
    rows_trained: int
    rows_scored: int
    churn_rate: float
    figures: dict[str, dict[str, float]]  # kind -> measure -> value

    def auc(self, kind: str) -> float:
        return self.figures[kind]["roc_auc"]


@dataclass(frozen=True)
class Backtest:
    """The replayed dates, what they choose to register, and why."""

    dates: tuple[BacktestDate, ...]
    choice: str  # "trees", "bgnbd" or "recency"
    why: str
    seconds: float = 0.0
    rule_aucs: dict[str, float] = field(default_factory=dict)

    @property
    def better_rule(self) -> str:
        return max(("bgnbd", "recency"), key=lambda k: self.rule_aucs.get(k, float("-inf")))

    def mean(self, kind: str, measure: str) -> float:
        values = [d.figures[kind][measure] for d in self.dates]
        return float(np.nanmean(values)) if values else float("nan")

    def margin(self) -> float:
        """Mean ROC-AUC of the trees minus the better rule's, over the dates."""
        return self.mean("model", "roc_auc") - self.mean(self.better_rule, "roc_auc")

    def verdict(self) -> str:
        """One line in plain words: how good the registered model is, from the backtests' lift."""
        kind = "model" if self.choice == "trees" else self.choice
        if not self.dates:
            return (
                f"quality unknown: the history is too short to replay a past date at this horizon; "
                f"the better rule ({_RULE_NAMES[self.choice]}) is registered"
            )
        lift = self.mean(kind, "lift_top_decile")
        rate = float(np.mean([d.churn_rate for d in self.dates]))
        share = lift_share(lift, rate)
        word = next(w for w, low in VERDICT_THRESHOLDS if share >= low)
        what = "the model" if self.choice == "trees" else f"the rule ({_RULE_NAMES[self.choice]})"
        return (
            f"quality {word}: in backtests at {len(self.dates)} past date(s) the top 10% by risk "
            f"left at {lift:.1f}x the average rate ({share:.0%} of the best possible); "
            f"{what} is registered — {self.why}"
        )

    def metrics(self) -> dict[str, float]:
        """Means over the dates, for the run (per-date values are logged with a step)."""
        out = {
            f"backtest_{kind}_{measure}": self.mean(kind, measure)
            for kind in KINDS
            for measure in MEASURES
        }
        out.update(
            {
                "backtest_dates": float(len(self.dates)),
                "backtest_margin_over_better_rule": self.margin(),
                "backtest_seconds": self.seconds,
            }
        )
        return {k: v for k, v in out.items() if np.isfinite(v)}

    def table(self) -> pd.DataFrame:
        rows = [
            {"as_of": d.as_of, "split": d.strategy, "rows": d.rows_scored, "churn": d.churn_rate}
            | {f"{k}_auc": d.auc(k) for k in KINDS}
            for d in self.dates
        ]
        return pd.DataFrame(rows)


_RULE_NAMES = {"bgnbd": "BG/NBD", "recency": "days since the last order", "trees": "trees"}


def lift_share(lift: float, churn_rate: float) -> float:
    """(lift - 1) over the best possible (lift - 1): a churn rate of 50% allows at most 2x."""
    best = min(10.0, 1.0 / churn_rate) if churn_rate > 0 else 10.0
    return float((lift - 1.0) / (best - 1.0)) if best > 1 else 0.0


def rule_scores(
    rows: pd.DataFrame, params: BGNBDParams | None, horizon_days: int
) -> dict[str, np.ndarray]:
    """Both rules' raw scores from catalogue features, exactly as their registered models score."""
    recency, tenure, orders = (rows[f].to_numpy(np.float64) for f in PRIOR_FEATURES)
    out = {"recency": recency_pseudo_probability(np.nan_to_num(recency, nan=0.0))}
    if params is not None:
        x, t_x, T = rfm_from_features(recency, tenure, orders)
        out["bgnbd"] = np.asarray(p_no_purchase(params, x, t_x, T, horizon_days))
    return out


def judge(
    scored: pd.DataFrame,
    valid: pd.DataFrame,
    model_probability: np.ndarray,
    params: BGNBDParams | None,
    horizon_days: int,
) -> dict[str, dict[str, float]]:
    """Every measure for the model and both rules on the same customers (rules calibrated on valid)."""
    y = scored["churned"].to_numpy()
    figures = {"model": _figures(y, model_probability)}
    at_valid = rule_scores(valid, params, horizon_days)
    for kind, raw in rule_scores(scored, params, horizon_days).items():
        calibrated = fit_platt(np.clip(at_valid[kind], 1e-9, 1 - 1e-9), valid["churned"])
        figures[kind] = _figures(y, calibrated.apply(np.clip(raw, 1e-9, 1 - 1e-9)))
    figures.setdefault("bgnbd", dict.fromkeys(MEASURES, float("nan")))
    return figures


def _figures(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    e = evaluate(y, p)
    return {"roc_auc": e.roc_auc, "pr_auc": e.pr_auc, "lift_top_decile": e.lift_top_decile,
            "ece": e.ece}  # fmt: skip


def backtest_dates(
    cutoffs: Sequence[date], horizon_days: int, count: int = BACKTEST_DATES
) -> list[date]:
    """The latest labelled cutoff and earlier ones half a horizon apart, each with an honest split."""
    chosen: list[date] = []
    ordered = sorted(cutoffs)
    step = timedelta(days=max(horizon_days // 2, 1))
    for cutoff in reversed(ordered):
        if len(chosen) == count:
            break
        if chosen and cutoff > chosen[-1] - step:
            continue
        split = plan_split([c for c in ordered if c <= cutoff], horizon_days)
        if split.honest and split.test_cutoff == cutoff:
            chosen.append(cutoff)
    return chosen


Fitter = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], np.ndarray]


def run_backtests(
    frame: pd.DataFrame,
    cutoffs: Sequence[date],
    horizon_days: int,
    fitter: Fitter,
    prior_params: Mapping[date, BGNBDParams] | None,
    latest: tuple[TimeSplit, np.ndarray] | None = None,
) -> Backtest:
    """Replay the procedure at `backtest_dates`; `fitter(fit, valid, scored)` trains as production
    does and returns the probabilities at the scored rows. `latest` (the run's own honest split and
    its held-out probabilities) is reused for the latest date instead of fitting it again."""
    started = time.perf_counter()
    judged: list[BacktestDate] = []
    for as_of in backtest_dates(cutoffs, horizon_days):
        split = plan_split([c for c in cutoffs if c <= as_of], horizon_days)
        fit, valid, scored = split_frame(frame, split)
        if len(fit) == 0 or len(valid) == 0 or len(scored) == 0:
            continue
        if scored["churned"].nunique() < 2 or valid["churned"].nunique() < 2:
            continue  # a window with one outcome judges nothing
        if latest is not None and latest[0].test_cutoff == as_of:
            probability = latest[1]
        else:
            probability = fitter(fit, valid, scored)
        params = None if prior_params is None else prior_params.get(as_of)
        judged.append(
            BacktestDate(
                as_of=as_of,
                strategy=split.strategy,
                rows_trained=len(fit) + len(valid),
                rows_scored=len(scored),
                churn_rate=float(scored["churned"].mean()),
                figures=judge(scored, valid, probability, params, horizon_days),
            )
        )
    rules = _rule_aucs(frame, cutoffs, horizon_days, prior_params, judged)
    choice, why = choose(judged, rules)
    return Backtest(tuple(judged), choice, why, time.perf_counter() - started, rules)


def _rule_aucs(
    frame: pd.DataFrame,
    cutoffs: Sequence[date],
    horizon_days: int,
    prior_params: Mapping[date, BGNBDParams] | None,
    judged: Sequence[BacktestDate],
) -> dict[str, float]:
    """The rules' mean ROC-AUC: over the backtests, or (none) over the three latest labelled
    cutoffs, where a rule needs no training and so is judged honestly however short the history."""
    if judged:
        return {k: float(np.nanmean([d.auc(k) for d in judged])) for k in ("bgnbd", "recency")}
    from training.metrics import roc_auc

    when = pd.to_datetime(frame["cutoff"]).dt.date
    aucs: dict[str, list[float]] = {"bgnbd": [], "recency": []}
    for cutoff in sorted(cutoffs)[-3:]:
        rows = frame[(when == cutoff).to_numpy()]
        if rows["churned"].nunique() < 2:
            continue
        params = None if prior_params is None else prior_params.get(cutoff)
        for kind, raw in rule_scores(rows, params, horizon_days).items():
            aucs[kind].append(roc_auc(rows["churned"].to_numpy(), raw))
    return {k: float(np.mean(v)) if v else float("-inf") for k, v in aucs.items()}


def choose(dates: Sequence[BacktestDate], rule_aucs: Mapping[str, float]) -> tuple[str, str]:
    """Trees or the better rule, and why, in plain words (pure)."""
    better = max(("bgnbd", "recency"), key=lambda k: rule_aucs.get(k, float("-inf")))
    name = _RULE_NAMES[better]
    if not dates:
        return (
            better,
            f"no past date could be replayed honestly, so {name} (the better rule) is used",
        )
    margins = np.array([d.auc("model") - d.auc(better) for d in dates])
    mean, worst = float(np.mean(margins)), float(np.min(margins))
    if mean >= TREES_MIN_MARGIN and worst >= -RULE_TOLERANCE:
        return (
            "trees",
            f"the trees beat {name} by {mean:+.4f} ROC-AUC on average (worst {worst:+.4f})",
        )
    return better, (
        f"the trees did not beat {name} clearly enough (mean {mean:+.4f}, worst {worst:+.4f} ROC-AUC; "
        f"needed {TREES_MIN_MARGIN:+.3f} and no date below -{RULE_TOLERANCE})"
    )
