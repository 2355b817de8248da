"""`churnguard train`: training set -> time split -> LightGBM + calibration -> evaluation against the
baselines -> MLflow run with lineage -> registered version -> (gated) champion.

A fresh registry gets its first champion from `train` alone when the run passes the gate (it must beat
both baselines); later runs only move the alias with `--promote` or `churnguard promote`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd

from common.names import DELIVERIES, FEEDBACK, MODEL_NAME, ORDERS
from common.settings import Settings, get_settings
from common.spreadsheet import write_csv
from features.catalogue import FEATURE_CATALOGUE_VERSION, features_from
from features.snapshot import build_training_set
from features.warehouse import connect
from models.prior import PRIOR_FEATURES, BGNBDParams
from models.pyfunc import log_scorer
from models.reasons import REASON_CATALOGUE_VERSION
from training import evaluate as ev
from training.baselines import baseline_scores, fit_bgnbd_by_cutoff, purchase_summary
from training.fit import FitConfig, fit_scorer
from training.lineage import git_commit, table_fingerprints, warehouse_fingerprint
from training.registry import (
    HELDOUT_ARTIFACT_DIR,
    PromotionResult,
    current_champion,
    ensure_experiment,
    mlflow_store,
    promote,
    write_held_out,
)
from training.split import TimeSplit, plan_split, split_frame, training_cutoffs

log = logging.getLogger(__name__)
CUTOFF_EVERY_DAYS = 30
ORDERS_ONLY_FEATURES: tuple[str, ...] = features_from({ORDERS})  # the ablation's features


class TrainingDataError(ValueError):
    """The warehouse cannot give a training set a model could learn from; the message says why."""


@dataclass
class TrainResult:
    run_id: str
    version: str
    split: TimeSplit
    report: ev.HeldOutReport
    promotion: PromotionResult | None
    rows: dict[str, int]  # customer-snapshots: total, fit, valid, test

    def summary(self) -> str:
        table = self.report.comparison()[["roc_auc", "pr_auc", "log_loss", "brier", "ece"]]
        lines = [
            f"run {self.run_id}: registered {MODEL_NAME} v{self.version}",
            f"split {self.split.describe()}",
            table.round(4).to_string(),
        ]
        if self.promotion is not None:
            lines.append(self.promotion.message())
        return "\n".join(lines)


def _as_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _check_learnable(fit: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame) -> None:
    for name, part in (("fit", fit), ("validation", valid), ("held-out", test)):
        if len(part) == 0:
            raise TrainingDataError(
                f"the {name} slice is empty: too few active customers to train on"
            )
    rate = fit["churned"].mean()
    if rate in (0.0, 1.0):
        what = "churned" if rate == 1.0 else "ordered again"
        raise TrainingDataError(
            f"every one of the {len(fit)} customer-cutoffs used for fitting {what}: there is no "
            "contrast to learn from. More history (or a different --horizon-days) is needed."
        )


def _population_priors(
    con: duckdb.DuckDBPyConnection, cutoffs: list[date]
) -> dict[date, BGNBDParams] | None:
    """BG/NBD per cutoff on every known customer; None (each cutoff's own rows are used) if a fit fails."""
    try:
        return fit_bgnbd_by_cutoff(con, cutoffs)
    except (ValueError, RuntimeError) as error:
        log.warning("BG/NBD could not be fitted on every known customer (%s)", error)
        return None


def learnable_features(tables: dict[str, dict[str, object]], fit: pd.DataFrame) -> list[str]:
    """The catalogue features the model is offered: those whose source tables have rows and that
    vary over the fit rows (a column that is one value, or NaN, everywhere teaches nothing)."""
    with_data = features_from({name for name, table in tables.items() if table["rows"]})
    varying = fit[list(with_data)].nunique(dropna=True) > 1
    return [name for name in with_data if varying[name] or name in PRIOR_FEATURES]


def _has_other_tables(tables: dict[str, dict[str, object]]) -> bool:
    """True when the shop gave deliveries or feedback: then an orders-only model is worth comparing."""
    return any(tables[t]["rows"] for t in (DELIVERIES, FEEDBACK))


def train(
    horizon_days: int | None = None,
    experiment: str | None = None,
    promote_after: bool = False,
    fit_config: FitConfig | None = None,
    settings: Settings | None = None,
) -> TrainResult:
    """Train, evaluate, log and register one model; promote it if asked (or if there is no champion)."""
    settings = settings or get_settings()
    horizon_days = horizon_days or settings.horizon_days
    experiment = experiment or settings.experiment
    fit_config = fit_config or FitConfig()
    started = time.perf_counter()

    con = connect(settings.warehouse_path, read_only=True)
    try:
        orders = con.execute(f"SELECT count(*) FROM {ORDERS}").fetchone()[0]
        if orders == 0:
            raise TrainingDataError(
                f"the warehouse {settings.warehouse_path} has no orders: run `churnguard ingest DIR`"
            )
        try:
            cutoffs = training_cutoffs(con, horizon_days, every_days=CUTOFF_EVERY_DAYS)
        except ValueError as error:
            raise TrainingDataError(str(error)) from error
        frame = build_training_set(con, cutoffs, horizon_days, lookback_days=settings.lookback_days)
        split = plan_split(cutoffs, horizon_days)
        summary = purchase_summary(con, _as_datetime(split.test_cutoff))
        prior_params = _population_priors(con, cutoffs)
        tables = table_fingerprints(con)
        time_range = con.execute(
            f"SELECT min(ordered_at), max(ordered_at) FROM {ORDERS}"
        ).fetchone()
    finally:
        con.close()
    build_seconds = time.perf_counter() - started

    fit, valid, test = split_frame(frame, split)
    _check_learnable(fit, valid, test)
    names = learnable_features(tables, fit)
    log.info("training set: %d rows; %s", len(frame), split.describe())

    fit_started = time.perf_counter()
    scorer, fitted = fit_scorer(
        fit,
        valid,
        test,
        names,
        FEATURE_CATALOGUE_VERSION,
        horizon_days,
        fit_config,
        metadata={"split": split.strategy, "test_cutoff": str(split.test_cutoff)},
        prior_params=prior_params,
    )
    fit_seconds = time.perf_counter() - fit_started
    X_test = scorer.matrix(test)
    y_test = test["churned"].to_numpy()
    probability = scorer.predict_proba(X_test)

    orders_only_probability = None
    if _has_other_tables(tables):  # deliveries or feedback exist: measure what they add
        orders_only, _ = fit_scorer(
            fit, valid, test, [n for n in names if n in ORDERS_ONLY_FEATURES],
            FEATURE_CATALOGUE_VERSION, horizon_days, fit_config, prior_params=prior_params,
        )  # fmt: skip
        orders_only_probability = orders_only.predict_proba(orders_only.matrix(test))

    test_params = None if prior_params is None else prior_params[split.test_cutoff]
    baselines = baseline_scores(summary, test["customer_id"], horizon_days, test_params)
    report = ev.evaluate_held_out(
        y_test,
        probability,
        baselines,
        valid_recency_days=valid["days_since_last_order"].to_numpy(),
        valid_y=valid["churned"].to_numpy(),
        orders_only_probability=orders_only_probability,
    )

    with mlflow_store(settings) as client:
        run_id, version = _log_run(
            client, settings, experiment, horizon_days, cutoffs, split, frame, fit, valid, test,
            scorer, fitted, report, baselines, probability, X_test, y_test, tables, time_range,
            build_seconds, fit_seconds, fit_config,
        )  # fmt: skip
    promotion = None
    if promote_after or current_champion(client) is None:
        promotion = promote(client, settings, version)
    rows = {"total": len(frame), "fit": len(fit), "valid": len(valid), "test": len(test)}
    return TrainResult(run_id, version, split, report, promotion, rows)


def _log_run(
    client, settings, experiment, horizon_days, cutoffs, split, frame, fit, valid, test,
    scorer, fitted, report, baselines, probability, X_test, y_test, tables, time_range,
    build_seconds, fit_seconds, fit_config,
) -> tuple[str, str]:  # fmt: skip
    """Everything the run records: lineage, parameters, metrics, plots, held-out set, the model."""
    names = list(scorer.feature_names)
    experiment_id = ensure_experiment(client, experiment, settings)
    commit, dirty = git_commit()
    fingerprint = warehouse_fingerprint(tables)
    run_id_from_env = os.environ.get("MLFLOW_RUN_ID")  # set by `mlflow run`
    run_context = (
        mlflow.start_run(run_id=run_id_from_env)
        if run_id_from_env
        else mlflow.start_run(experiment_id=experiment_id, run_name=f"train-h{horizon_days}")
    )
    with run_context as run, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mlflow.set_tags(
            {
                "git_commit": commit or "unknown",
                "git_dirty": str(dirty),
                "feature_catalogue_version": FEATURE_CATALOGUE_VERSION,
                "reason_catalogue_version": REASON_CATALOGUE_VERSION,
                "warehouse_fingerprint": fingerprint,
                "split_strategy": split.strategy,
                "split_honest": str(split.honest),
                "calibration": scorer.calibrator.method,
            }
        )
        mlflow.log_params(
            {
                "horizon_days": horizon_days,
                "lookback_days": settings.lookback_days,
                "cutoff_every_days": CUTOFF_EVERY_DAYS,
                "cutoffs": len(cutoffs),
                "first_cutoff": str(cutoffs[0]),
                "test_cutoff": str(split.test_cutoff),
                "valid_cutoffs": ",".join(str(c) for c in split.valid_cutoffs),
                "fit_cutoffs": f"{min(split.fit_cutoffs)}..{max(split.fit_cutoffs)} ({len(split.fit_cutoffs)})",
                "split_strategy": split.strategy,
                "rows_total": len(frame),
                "rows_fit": len(fit),
                "rows_valid": len(valid),
                "rows_test": len(test),
                "features": len(names),
                "feature_catalogue_version": FEATURE_CATALOGUE_VERSION,
                "data_first_order": str(time_range[0]),
                "data_last_order": str(time_range[1]),
                "warehouse_fingerprint": fingerprint,
                **{f"warehouse_{t}_rows": v["rows"] for t, v in tables.items()},
                "best_iteration": fitted.best_iteration,
                "calibration": scorer.calibrator.method,
                **{f"bgnbd_{k}": round(v, 6) for k, v in baselines.bgnbd_params.to_dict().items()},
                **fit_config.to_params(),
            }
        )
        metrics = {k: v for k, v in report.metrics().items() if np.isfinite(v)}
        metrics.update(
            {
                "build_seconds": build_seconds,
                "fit_seconds": fit_seconds,
                "fit_churn_rate": fit["churned"].mean(),
            }
        )
        mlflow.log_metrics(metrics)
        for row in report.model.deciles.itertuples():
            mlflow.log_metric("heldout_lift_by_decile", float(row.lift), step=int(row.decile))
            mlflow.log_metric(
                "heldout_churn_rate_by_decile", float(row.churn_rate), step=int(row.decile)
            )

        (folder / "warehouse_fingerprint.json").write_text(json.dumps(tables, indent=1))
        write_csv(report.comparison(), folder / "comparison.csv", index=True)
        write_csv(report.model.deciles, folder / "deciles_model.csv")
        write_csv(report.bgnbd.deciles, folder / "deciles_bgnbd.csv")
        write_csv(report.recency.deciles, folder / "deciles_recency.csv")
        contributions = ev.contribution_summary(scorer, X_test)
        write_csv(contributions, folder / "contribution_summary.csv")
        ev.plot_gains_and_lift(report, folder / "gains_lift.png")
        ev.plot_calibration(
            y_test,
            {"model": probability, "BG/NBD": baselines.bgnbd_p_no_purchase},
            folder / "calibration.png",
        )
        ev.plot_feature_importance(scorer, folder / "feature_importance.png")
        ev.plot_contributions(contributions, folder / "contribution_summary.png")
        for path in folder.iterdir():
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        held = folder / HELDOUT_ARTIFACT_DIR
        held.mkdir()
        write_held_out(test[["customer_id", "cutoff", "churned", *names]], held)
        mlflow.log_artifacts(str(held), artifact_path=HELDOUT_ARTIFACT_DIR)

        info = log_scorer(scorer, input_example=test)
        run_id = run.info.run_id
    return run_id, str(info.registered_model_version)
