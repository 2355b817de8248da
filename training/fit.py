"""Fit the booster with early stopping on the validation slice, calibrate it there, build a ChurnScorer."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.catalogue import FEATURES_BY_NAME
from models.calibration import sigmoid
from models.prior import (
    FREQUENCY,
    PRIOR_FEATURES,
    RECENCY,
    TENURE,
    BGNBDParams,
    BGNBDPrior,
    rfm_from_features,
)
from models.scorer import ChurnScorer
from training.baselines import fit_bgnbd
from training.calibration import fit_calibrator, fit_platt

log = logging.getLogger(__name__)


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
    bgnbd_prior: bool = True  # boost from BG/NBD's log-odds (see models.prior)
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


def monotone_directions(feature_names: Sequence[str]) -> list[int]:
    """The catalogue's direction per feature (0 for a name it does not know)."""
    return [
        FEATURES_BY_NAME[name].monotone if name in FEATURES_BY_NAME else 0 for name in feature_names
    ]


def _lgb_params(
    config: FitConfig, rows: int, feature_names: Sequence[str], left_out: Sequence[str] = ()
) -> dict[str, object]:
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
        params["monotone_constraints"] = monotone_directions(feature_names)
        params["monotone_constraints_method"] = "intermediate"
    if left_out:  # in the matrix (the BG/NBD prior reads them) but never split on by a tree
        params["feature_contri"] = [0.0 if name in left_out else 1.0 for name in feature_names]
    return params


def fit_booster(
    fit: pd.DataFrame,
    valid: pd.DataFrame | None,
    feature_names: Sequence[str],
    config: FitConfig,
    label: str = "churned",
    init_fit: np.ndarray | None = None,
    init_valid: np.ndarray | None = None,
    left_out: Sequence[str] = (),
    rounds: int | None = None,
) -> FitResult:
    """LightGBM on `fit`, early-stopped on `valid` (binary log loss), optionally boosting from a
    per-row starting log-odds (`init_fit`, `init_valid`). Without `valid` (the refit) it grows
    exactly `rounds` trees, the number an evaluated fit chose."""
    names = list(feature_names)
    if len(fit) == 0 or (valid is not None and len(valid) == 0):
        raise ValueError(f"cannot fit: {len(fit)} fit rows and {len(valid)} validation rows")
    X_fit = fit[names].to_numpy(np.float64)
    y_fit = fit[label].to_numpy()
    params = _lgb_params(config, len(fit), names, left_out)
    train_set = lgb.Dataset(X_fit, y_fit, feature_name=names, init_score=init_fit)
    if valid is None:
        booster = lgb.train(params, train_set, num_boost_round=max(int(rounds or 1), 1))
        return FitResult(booster, booster.current_iteration(), np.empty(0))
    X_valid = valid[names].to_numpy(np.float64)
    y_valid = valid[label].to_numpy()
    valid_set = lgb.Dataset(X_valid, y_valid, reference=train_set, init_score=init_valid)
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
    best = (
        booster.best_iteration
        if stops and booster.best_iteration > 0
        else booster.current_iteration()
    )
    # keep only the trees used: smaller files and faster TreeSHAP
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=max(best, 1)))
    margin = booster.predict(X_valid, raw_score=True, num_threads=config.num_threads)
    valid_raw = sigmoid(margin + (0.0 if init_valid is None else init_valid))
    return FitResult(booster=booster, best_iteration=int(best), valid_raw=valid_raw)


def _prior_for(params: BGNBDParams, frame: pd.DataFrame, horizon_days: int) -> BGNBDPrior:
    return BGNBDPrior(
        params=params,
        horizon_days=horizon_days,
        reference_recency=float(np.nanmedian(frame[RECENCY])),
        reference_orders=float(np.nanmedian(frame[FREQUENCY])),
    )


def _fit_on_rows(frame: pd.DataFrame) -> BGNBDParams:
    x, t_x, T = rfm_from_features(frame[RECENCY], frame[TENURE], frame[FREQUENCY])
    return fit_bgnbd(x, t_x, T)


def _cutoff_dates(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_datetime(frame["cutoff"]).dt.date.to_numpy()


def _prior_margins(
    frame: pd.DataFrame,
    horizon_days: int,
    names: list[str],
    params_by_cutoff: Mapping[date, BGNBDParams] | None,
) -> np.ndarray:
    """BG/NBD log-odds per row with the parameters of the row's own cutoff: no label is used.

    Without `params_by_cutoff` (no warehouse at hand) each cutoff's parameters are fitted on that
    cutoff's rows, which are active customers only."""
    margins = np.empty(len(frame))
    index = tuple(names.index(f) for f in PRIOR_FEATURES)
    X = frame[names].to_numpy(np.float64)
    cutoffs = _cutoff_dates(frame)
    for cutoff in np.unique(cutoffs):
        rows = np.flatnonzero(cutoffs == cutoff)
        params = (
            params_by_cutoff[cutoff]
            if params_by_cutoff is not None
            else _fit_on_rows(frame.iloc[rows])
        )
        margins[rows] = _prior_for(params, frame.iloc[rows], horizon_days).margin(X[rows], index)
    return margins


def _priors(
    fit: pd.DataFrame,
    valid: pd.DataFrame,
    reference: pd.DataFrame,
    names: list[str],
    horizon_days: int,
    config: FitConfig,
    params_by_cutoff: Mapping[date, BGNBDParams] | None,
) -> tuple[BGNBDPrior | None, np.ndarray | None, np.ndarray | None]:
    if not config.bgnbd_prior or not all(f in names for f in PRIOR_FEATURES):
        return None, None, None
    try:
        reference_cutoffs = set(_cutoff_dates(reference))
        if params_by_cutoff is not None and len(reference_cutoffs) == 1:
            reference_params = params_by_cutoff[reference_cutoffs.pop()]
        else:
            reference_params = _fit_on_rows(reference)
        prior = _prior_for(reference_params, reference, horizon_days)
        init_fit = _prior_margins(fit, horizon_days, names, params_by_cutoff)
        init_valid = _prior_margins(valid, horizon_days, names, params_by_cutoff)
    except (ValueError, RuntimeError, KeyError) as error:
        log.warning("BG/NBD prior not used (%s); the trees start from the base rate", error)
        return None, None, None
    if not (np.all(np.isfinite(init_fit)) and np.all(np.isfinite(init_valid))):
        log.warning("BG/NBD prior gave non-finite log-odds; the trees start from the base rate")
        return None, None, None
    # Rescale the prior's log-odds on the fit rows: the first trees would otherwise be spent on the
    # base rate, and early stopping on log loss would keep their noise in the ranking.
    platt = fit_platt(sigmoid(init_fit), fit["churned"].to_numpy())
    prior = replace(prior, slope=platt.slope, intercept=platt.intercept)
    return (
        prior,
        platt.slope * init_fit + platt.intercept,
        platt.slope * init_valid + platt.intercept,
    )


def fit_scorer(
    fit: pd.DataFrame,
    valid: pd.DataFrame,
    reference: pd.DataFrame,
    feature_names: Sequence[str],
    feature_schema_version: str,
    horizon_days: int,
    config: FitConfig | None = None,
    metadata: dict[str, object] | None = None,
    prior_params: Mapping[date, BGNBDParams] | None = None,
    left_out: Sequence[str] = (),
) -> tuple[ChurnScorer, FitResult]:
    """Booster (boosting from the BG/NBD prior) + calibrator (fitted on the validation slice) +
    percentiles from `reference` (the customers at the latest cutoff: the population the
    scores will be read against; its labels are never used). `prior_params` holds BG/NBD's
    parameters per cutoff (`training.baselines.fit_bgnbd_by_cutoff`); the artifact keeps the
    reference cutoff's."""
    config = config or FitConfig()
    names = list(feature_names)
    prior, init_fit, init_valid = _priors(
        fit, valid, reference, names, horizon_days, config, prior_params
    )
    result = fit_booster(
        fit, valid, names, config, init_fit=init_fit, init_valid=init_valid, left_out=left_out
    )
    calibrator = fit_calibrator(result.valid_raw, valid["churned"].to_numpy(), config.calibration)
    return _scorer(result, calibrator, names, reference, feature_schema_version, horizon_days,
                   prior, left_out, metadata), result  # fmt: skip


def refit_scorer(
    rows: pd.DataFrame,
    reference: pd.DataFrame,
    evaluated: ChurnScorer,
    rounds: int,
    config: FitConfig,
    prior_params: Mapping[date, BGNBDParams] | None = None,
    left_out: Sequence[str] = (),
    metadata: dict[str, object] | None = None,
) -> tuple[ChurnScorer, FitResult]:
    """The production model: the number of trees and the calibration the held-out evaluation chose,
    refitted on every labelled row (validation and test cutoffs included). `reference` is the
    population at the planned scoring date: its BG/NBD parameters and its percentiles."""
    names = list(evaluated.feature_names)
    horizon_days = evaluated.horizon_days
    prior, init_fit, _ = _priors(
        rows, rows.iloc[:0], reference, names, horizon_days, config, prior_params
    )
    result = fit_booster(
        rows, None, names, config, init_fit=init_fit, left_out=left_out, rounds=rounds
    )
    return _scorer(
        result, evaluated.calibrator, names, reference, evaluated.feature_schema_version,
        horizon_days, prior, left_out, {**evaluated.metadata, **(metadata or {})},
    ), result  # fmt: skip


def _scorer(
    result: FitResult,
    calibrator,
    names: list[str],
    reference: pd.DataFrame,
    feature_schema_version: str,
    horizon_days: int,
    prior: BGNBDPrior | None,
    left_out: Sequence[str],
    metadata: dict[str, object] | None,
) -> ChurnScorer:
    """A ChurnScorer whose percentiles and bands come from `reference` (its labels are never used)."""
    scorer = ChurnScorer(
        booster=result.booster,
        calibrator=calibrator,
        feature_names=tuple(names),
        feature_schema_version=feature_schema_version,
        horizon_days=horizon_days,
        reference_quantiles=np.zeros(1),
        prior=prior,
    )
    raw_reference = scorer.predict_raw(scorer.matrix(reference))
    scorer = ChurnScorer.from_reference(
        booster=result.booster,
        calibrator=calibrator,
        feature_names=names,
        feature_schema_version=feature_schema_version,
        horizon_days=horizon_days,
        reference_scores=calibrator.apply(raw_reference),
        metadata={
            "best_iteration": result.best_iteration,
            "bgnbd_prior": prior is not None,
            "left_out_of_trees": list(left_out),
            **(metadata or {}),
        },
        prior=prior,
    )
    return scorer
