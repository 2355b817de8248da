"""Fit the booster with early stopping on the validation slice, calibrate it there, build a ChurnScorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.scorer import ChurnScorer
from training.calibration import fit_calibrator

# Domain knowledge the data is too small to learn reliably: one more bad experience, or a longer
# silence, never makes a customer *less* likely to leave. Only these directions are imposed.
MONOTONE_INCREASING: tuple[str, ...] = (
    "days_since_last_order",
    "late_deliveries_90d",
    "late_deliveries_365d",
    "failed_deliveries_90d",
    "failed_deliveries_365d",
    "open_overdue_orders",
    "days_overdue_oldest_open_order",
    "negative_feedback_90d",
    "negative_feedback_365d",
    "support_tickets_90d",
)
MONOTONE_DECREASING: tuple[str, ...] = (
    "last_rating",
    "worst_rating_90d",
    "mean_rating_365d",
    "orders_30d",
    "orders_90d",
)


@dataclass(frozen=True)
class FitConfig:
    """A modest model: explanations cost TreeSHAP time per tree, and shops are often small."""

    num_boost_round: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    early_stopping_rounds: int = 30
    calibration: str = "auto"
    monotone: bool = True
    seed: int = 0
    # One thread by default: on a shared or small machine OpenMP's spinning threads made fits ~10x
    # slower (measured on 2 busy cores); raise it on a dedicated many-core box.
    num_threads: int = 1

    def to_params(self) -> dict[str, object]:
        return {f"fit_{k}": v for k, v in asdict(self).items()}


@dataclass
class FitResult:
    booster: lgb.Booster
    best_iteration: int
    valid_raw: np.ndarray  # uncalibrated validation predictions the calibrator was fitted on


def _lgb_params(config: FitConfig, rows: int, feature_names: Sequence[str]) -> dict[str, object]:
    # Small shops: fewer leaves and a leaf floor that scales with the data, so trees stay general.
    num_leaves = int(min(config.num_leaves, max(7, rows // 200)))
    params: dict[str, object] = {
        "objective": "binary",
        "learning_rate": config.learning_rate,
        "num_leaves": num_leaves,
        "min_data_in_leaf": int(max(10, min(config.min_data_in_leaf, rows // 50))),
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "seed": config.seed,
        "deterministic": True,
        "num_threads": config.num_threads,
        "verbosity": -1,
    }
    if config.monotone:
        params["monotone_constraints"] = [
            1 if name in MONOTONE_INCREASING else -1 if name in MONOTONE_DECREASING else 0
            for name in feature_names
        ]
        params["monotone_constraints_method"] = "intermediate"
    return params


def fit_booster(
    fit: pd.DataFrame,
    valid: pd.DataFrame,
    feature_names: Sequence[str],
    config: FitConfig,
    label: str = "churned",
) -> FitResult:
    """LightGBM on `fit`, early-stopped on `valid` (binary log loss)."""
    names = list(feature_names)
    if len(fit) == 0 or len(valid) == 0:
        raise ValueError(f"cannot fit: {len(fit)} fit rows and {len(valid)} validation rows")
    X_fit = fit[names].to_numpy(np.float64)
    X_valid = valid[names].to_numpy(np.float64)
    y_fit = fit[label].to_numpy()
    y_valid = valid[label].to_numpy()
    params = _lgb_params(config, len(fit), names)
    train_set = lgb.Dataset(X_fit, y_fit, feature_name=names, free_raw_data=True)
    valid_set = lgb.Dataset(X_valid, y_valid, reference=train_set)
    callbacks = []
    stops = 0 < y_valid.mean() < 1  # one-class validation: nothing to stop on
    if stops:
        callbacks.append(lgb.early_stopping(config.early_stopping_rounds, verbose=False))
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.num_boost_round,
        valid_sets=[valid_set],
        callbacks=callbacks,
    )
    best = booster.best_iteration if stops and booster.best_iteration > 0 else booster.current_iteration()
    # keep only the trees used: smaller files and faster TreeSHAP
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    valid_raw = booster.predict(X_valid)
    return FitResult(booster=booster, best_iteration=int(best), valid_raw=valid_raw)


def fit_scorer(
    fit: pd.DataFrame,
    valid: pd.DataFrame,
    reference: pd.DataFrame,
    feature_names: Sequence[str],
    feature_schema_version: str,
    horizon_days: int,
    config: FitConfig | None = None,
    metadata: dict[str, object] | None = None,
) -> tuple[ChurnScorer, FitResult]:
    """Booster + calibrator (fitted on the validation slice) + percentiles and bands from `reference`
    (the customers at the latest cutoff: the population the scores will be read against)."""
    config = config or FitConfig()
    result = fit_booster(fit, valid, feature_names, config)
    calibrator = fit_calibrator(result.valid_raw, valid["churned"].to_numpy(), config.calibration)
    raw_reference = result.booster.predict(reference[list(feature_names)].to_numpy(np.float64))
    scorer = ChurnScorer.from_reference(
        booster=result.booster,
        calibrator=calibrator,
        feature_names=feature_names,
        feature_schema_version=feature_schema_version,
        horizon_days=horizon_days,
        reference_scores=calibrator.apply(raw_reference),
        metadata={"best_iteration": result.best_iteration, **(metadata or {})},
    )
    return scorer, result
