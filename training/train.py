"""`churnguard train`: readiness -> training set -> time split -> LightGBM + calibration, evaluated
against the baselines -> backtests at past dates -> the production model (the trees refitted on every
labelled cutoff, or the better baseline where the backtests say the trees do not beat it) -> MLflow
run with lineage -> registered version -> (gated) champion.

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
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd

from common.names import DELIVERIES, FEEDBACK, MODEL_NAME, ORDERS
from common.settings import Settings, get_settings
from common.spreadsheet import write_csv
from features.catalogue import FEATURE_CATALOGUE_VERSION, features_from
from features.engine import connect_warehouse
from features.snapshot import build_snapshot, build_training_set, last_order_day
from models.prior import FREQUENCY, PRIOR_FEATURES, RECENCY, BGNBDParams
from models.pyfunc import log_scorer
from models.reasons import REASON_CATALOGUE_VERSION
from models.scorer import ChurnScorer
from training import evaluate
from training.backtest import Backtest, run_backtests
from training.baselines import (
    baseline_scores,
    fit_bgnbd_by_cutoff,
    purchase_summary,
    rule_scorer,
)
from training.fit import FitConfig, FitResult, fit_scorer, refit_scorer
from training.lineage import git_commit, table_fingerprints, warehouse_fingerprint
from training.readiness import TrainingDataError, check_ready
from training.registry import (
    HELDOUT_ARTIFACT_DIR,
    PromotionResult,
    current_champion,
    ensure_experiment,
    mlflow_store,
    promote,
    write_held_out,
)
from training.shift import feature_ranges, left_out, reference_bins, share_outside
from training.split import (
    TimeSplit,
    cutoff_spacing,
    cutoff_span_days,
    plan_split,
    split_frame,
    training_cutoffs,
)

log = logging.getLogger(__name__)
ORDERS_ONLY_FEATURES: tuple[str, ...] = features_from({ORDERS})  # the ablation's features
__all__ = ["TrainResult", "TrainingDataError", "backtest", "train"]


@dataclass
class TrainResult:
    run_id: str
    version: str
    split: TimeSplit
    report: evaluate.HeldOutReport
    promotion: PromotionResult | None
    rows: dict[str, int]  # customer-snapshots: total, fit, valid, test
    backtest: Backtest
    model_kind: str  # "trees", or the baseline rule registered in their place
    cutoff_every_days: int
    seconds: float = float("nan")  # the whole run, backtests included

    def cost(self) -> str:
        """What the backtests add to `train`, in plain figures."""
        spent = self.backtest.seconds
        return (
            f"backtests: {len(self.backtest.dates)} date(s) in {spent:.1f} s of the run's "
            f"{self.seconds:.1f} s (+{spent / max(self.seconds - spent, 1e-9):.0%} over training "
            "without them)"
        )

    def summary(self) -> str:
        table = self.report.comparison()[["roc_auc", "pr_auc", "log_loss", "brier", "ece"]]
        registered = (
            "the trees, refitted on every labelled cutoff"
            if self.model_kind == "trees"
            else (f"the {self.model_kind} baseline")
        )
        lines = [
            f"run {self.run_id}: registered {MODEL_NAME} v{self.version} ({registered})",
            f"cutoffs every {self.cutoff_every_days} days; split {self.split.describe()}",
            "held-out cutoff (the evaluated model):",
            table.round(4).to_string(),
        ]
        if self.backtest.dates:
            lines += [
                "backtests (ROC-AUC at each date):",
                self.backtest.table().round(4).to_string(),
            ]
        lines.append(self.backtest.verdict())
        lines.append(self.cost())
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
    """Train, evaluate, backtest, log and register one model; promote it if asked (or if there is no
    champion)."""
    settings = settings or get_settings()
    horizon_days = horizon_days or settings.horizon_days
    experiment = experiment or settings.experiment
    fit_config = fit_config or FitConfig()
    started = time.perf_counter()

    con = connect_warehouse(settings)
    try:
        cutoffs, every_days = plan_cutoffs(con, horizon_days)
        # Spark pays per job, not per row: every cutoff in one statement there
        per_query = len(cutoffs) if settings.engine == "spark" else 1
        frame = build_training_set(
            con, cutoffs, horizon_days, settings.lookback_days, cutoffs_per_query=per_query
        )
        split = plan_split(cutoffs, horizon_days)
        summary = purchase_summary(con, _as_datetime(split.test_cutoff))
        scoring_day = last_order_day(con).date() + timedelta(days=1)  # the planned scoring date
        prior_params = _population_priors(con, [*cutoffs, scoring_day])
        scoring = build_snapshot(con, scoring_day, lookback_days=settings.lookback_days)
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

    def fit_for(fit_rows, valid_rows, scored, features=names) -> tuple[ChurnScorer, FitResult]:
        return fit_guarded(
            fit_rows, valid_rows, scored, features, horizon_days, fit_config, prior_params
        )

    fit_started = time.perf_counter()
    evaluated, fitted = fit_for(fit, valid, test)
    fit_seconds = time.perf_counter() - fit_started
    X_test = evaluated.matrix(test)
    y_test = test["churned"].to_numpy()
    probability = evaluated.predict_proba(X_test)

    orders_only_probability = None
    if _has_other_tables(tables):  # deliveries or feedback exist: measure what they add
        orders_only, _ = fit_for(fit, valid, test, [n for n in names if n in ORDERS_ONLY_FEATURES])
        orders_only_probability = orders_only.predict_proba(orders_only.matrix(test))

    test_params = None if prior_params is None else prior_params[split.test_cutoff]
    baselines = baseline_scores(summary, test["customer_id"], horizon_days, test_params)
    report = evaluate.evaluate_held_out(
        y_test,
        probability,
        baselines,
        valid_recency_days=valid["days_since_last_order"].to_numpy(),
        valid_y=valid["churned"].to_numpy(),
        orders_only_probability=orders_only_probability,
    )

    backtest = run_backtests(
        frame, cutoffs, horizon_days, _probabilities(fit_for, fit_config, prior_params),
        prior_params, latest=(split, (evaluated, fitted)) if split.honest else None,
    )  # fmt: skip
    if len(scoring) == 0:  # no one active at the scoring date: read scores against the test cutoff
        scoring = test
    scoring = scoring.assign(cutoff=scoring_day)
    production, refitted, shift, refit_seconds = _production_model(
        backtest, frame, test, scoring, evaluated, fitted, names, horizon_days, fit_config,
        prior_params, scoring_day,
    )  # fmt: skip

    record = RunRecord(
        settings=settings, experiment=experiment, horizon_days=horizon_days, cutoffs=cutoffs,
        cutoff_every_days=every_days, split=split, frame=frame, fit=fit, valid=valid, test=test,
        evaluated=evaluated, fitted=fitted, production=production, refitted=refitted,
        report=report, baselines=baselines, probability=probability, X_test=X_test, y_test=y_test,
        tables=tables, time_range=time_range, backtest=backtest, shift=shift,
        seconds={"build_seconds": build_seconds, "fit_seconds": fit_seconds,
                 "refit_seconds": refit_seconds, "backtest_seconds": backtest.seconds},
        fit_config=fit_config,
    )  # fmt: skip
    with mlflow_store(settings) as client:
        run_id, version = log_run(client, record)
    promotion = None
    if promote_after or current_champion(client) is None:
        promotion = promote(client, settings, version)
    rows = {"total": len(frame), "fit": len(fit), "valid": len(valid), "test": len(test)}
    return TrainResult(
        run_id, version, split, report, promotion, rows, backtest, production.kind, every_days,
        time.perf_counter() - started,
    )  # fmt: skip


def fit_guarded(
    fit_rows: pd.DataFrame,
    valid_rows: pd.DataFrame,
    scored: pd.DataFrame,
    features: list[str],
    horizon_days: int,
    fit_config: FitConfig,
    prior_params: dict[date, BGNBDParams] | None,
) -> tuple[ChurnScorer, FitResult]:
    """The procedure at one scoring population: the shift guard, then fit and calibrate."""
    trained = pd.concat([fit_rows, valid_rows])
    guard = left_out(share_outside(feature_ranges(trained, features), scored))
    return fit_scorer(
        fit_rows, valid_rows, scored, features, FEATURE_CATALOGUE_VERSION, horizon_days,
        fit_config, prior_params=prior_params, left_out=guard,
    )  # fmt: skip


def _probabilities(fit_for, fit_config: FitConfig, prior_params):
    """A backtest's model, as production would have registered it at that date: fitted and
    calibrated on the split (or `evaluated`, already so), then refitted on every row before it."""

    def fitter(fit_rows: pd.DataFrame, valid_rows: pd.DataFrame, scored: pd.DataFrame,
               evaluated: tuple[ChurnScorer, FitResult] | None = None) -> np.ndarray:  # fmt: skip
        scorer, fitted = evaluated or fit_for(fit_rows, valid_rows, scored)
        trained = pd.concat([fit_rows, valid_rows])
        guard = left_out(share_outside(feature_ranges(trained, list(scorer.feature_names)), scored))
        refit, _ = refit_scorer(
            trained, scored, scorer, fitted.best_iteration, fit_config, prior_params, guard
        )
        return refit.predict_proba(refit.matrix(scored))

    return fitter


def backtest(
    as_of: list[date] | None = None,
    horizon_days: int | None = None,
    fit_config: FitConfig | None = None,
    settings: Settings | None = None,
) -> Backtest:
    """`churnguard backtest`: replay training at past dates (default: the dates `train` uses), each
    trained only on label windows that end by it, scored at it, judged on what happened next; the
    figures are logged to MLflow as a run of their own."""
    settings = settings or get_settings()
    horizon_days = horizon_days or settings.horizon_days
    fit_config = fit_config or FitConfig()
    con = connect_warehouse(settings)
    try:
        cutoffs, every_days = plan_cutoffs(con, horizon_days)
        if as_of:
            cutoffs = _cutoffs_through(as_of, cutoffs, horizon_days, every_days)
        frame = build_training_set(con, cutoffs, horizon_days, lookback_days=settings.lookback_days)
        prior_params = _population_priors(con, cutoffs)
        tables = table_fingerprints(con)
    finally:
        con.close()
    names = learnable_features(tables, frame)

    def fit_for(fit_rows, valid_rows, scored):
        return fit_guarded(fit_rows, valid_rows, scored, names, horizon_days, fit_config,
                           prior_params)  # fmt: skip

    result = run_backtests(
        frame,
        cutoffs,
        horizon_days,
        _probabilities(fit_for, fit_config, prior_params),
        prior_params,
        dates=as_of,
    )
    with mlflow_store(settings) as client:
        experiment_id = ensure_experiment(client, settings.experiment, settings)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"backtest-h{horizon_days}"):
            mlflow.set_tags({"kind": "backtest", "verdict": result.verdict()[:5000]})
            mlflow.log_params({"horizon_days": horizon_days, "cutoff_every_days": every_days,
                               "backtest_dates": ",".join(str(d.as_of) for d in result.dates) or "-"})  # fmt: skip
            mlflow.log_metrics(result.metrics())
            _log_backtest_dates(result)
    return result


def plan_cutoffs(con: duckdb.DuckDBPyConnection, horizon_days: int) -> tuple[list[date], int]:
    """The cutoffs `train` and `backtest` both use, and their spacing in days, once the data is
    ready for the horizon (TrainingDataError, or the readiness error, saying why not)."""
    check_ready(con, horizon_days)
    every_days = cutoff_spacing(cutoff_span_days(con, horizon_days))
    try:
        return training_cutoffs(con, horizon_days, every_days=every_days), every_days
    except ValueError as error:
        raise TrainingDataError(str(error)) from error


def _cutoffs_through(
    as_of: list[date], cutoffs: list[date], horizon_days: int, every_days: int
) -> list[date]:
    """The training grid re-anchored on each requested date (so each date is a cutoff itself)."""
    latest = cutoffs[-1]
    late = [d for d in as_of if d > latest]
    if late:
        raise TrainingDataError(
            f"--as-of {late[0]}: its {horizon_days}-day label window ends after the last order; "
            f"choose a date on or before {latest}"
        )
    earliest = cutoffs[0]
    grid = set()
    for day in as_of:
        step = day
        while step >= earliest:
            grid.add(step)
            step -= timedelta(days=every_days)
    return sorted(grid)


def _log_backtest_dates(result: Backtest) -> None:
    for step, judged in enumerate(result.dates):
        for kind, figures in judged.figures.items():
            for measure, value in figures.items():
                if np.isfinite(value):
                    mlflow.log_metric(f"backtest_at_date_{kind}_{measure}", value, step=step)


def _production_model(
    backtest: Backtest,
    frame: pd.DataFrame,
    test: pd.DataFrame,
    scoring: pd.DataFrame,
    evaluated: ChurnScorer,
    fitted: FitResult,
    names: list[str],
    horizon_days: int,
    fit_config: FitConfig,
    prior_params: dict[date, BGNBDParams] | None,
    scoring_day: date,
) -> tuple[ChurnScorer, FitResult | None, dict[str, float], float]:
    """What is registered: the trees refitted on every labelled row (the evaluation chose the number
    of trees and the calibration), or the better baseline where the backtests say so."""
    started = time.perf_counter()
    shift = share_outside(feature_ranges(frame, names), scoring)
    metadata: dict[str, object] = {
        "verdict": backtest.verdict(),
        "expected_roc_auc": round(backtest.expected_auc(), 4),
        "scoring_date_at_training": str(scoring_day),
        "shift_at_training": {k: round(v, 4) for k, v in shift.items()},
        "backtest_margin_over_better_rule": round(backtest.margin(), 4),
    }
    if backtest.choice != "trees":
        params = None if prior_params is None else prior_params.get(scoring_day)
        production = rule_scorer(
            backtest.choice, test, scoring, params, horizon_days, FEATURE_CATALOGUE_VERSION,
            {**metadata, "drift_reference": _drift_reference(test, [RECENCY, FREQUENCY])},
        )  # fmt: skip
        return production, None, shift, time.perf_counter() - started
    guard = left_out(shift)
    used = [n for n in names if n not in guard]
    production, refitted = refit_scorer(
        frame, scoring, evaluated, fitted.best_iteration, fit_config, prior_params, guard,
        {**metadata, "model_kind": "trees", "training_ranges": feature_ranges(frame, used),
         "drift_reference": _drift_reference(test, used)},
    )  # fmt: skip
    return production, refitted, shift, time.perf_counter() - started


def _drift_reference(frame: pd.DataFrame, names: list[str]) -> dict[str, dict[str, list[float]]]:
    """Decile bins per feature of the latest labelled cutoff's customers (the newest population the
    model was trained on), kept with the model for `churnguard monitor`."""
    return {name: reference_bins(frame[name].to_numpy(np.float64)) for name in names}


# --- the run's record in MLflow --------------------------------------------------------------------


@dataclass
class RunRecord:
    """Everything one training run hands to MLflow."""

    settings: Settings
    experiment: str
    horizon_days: int
    cutoffs: list[date]
    cutoff_every_days: int
    split: TimeSplit
    frame: pd.DataFrame
    fit: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    evaluated: ChurnScorer  # fitted on the fit cutoffs, judged on the held-out cutoff
    fitted: FitResult
    production: ChurnScorer  # what is registered: the refit, or the better baseline
    refitted: FitResult | None
    report: evaluate.HeldOutReport
    baselines: object
    probability: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    tables: dict[str, dict[str, object]]
    time_range: tuple
    backtest: Backtest
    shift: dict[str, float]
    seconds: dict[str, float]
    fit_config: FitConfig


def log_run(client, record: RunRecord) -> tuple[str, str]:
    """Lineage, then parameters and metrics, then artifacts, then the registered model."""
    experiment_id = ensure_experiment(client, record.experiment, record.settings)
    run_id_from_env = os.environ.get("MLFLOW_RUN_ID")  # set by `mlflow run`
    run_context = (
        mlflow.start_run(run_id=run_id_from_env)
        if run_id_from_env
        else mlflow.start_run(experiment_id=experiment_id, run_name=f"train-h{record.horizon_days}")
    )
    with run_context as run:
        _log_lineage(record)
        _log_parameters(record)
        _log_metrics(record)
        _log_artifacts(record)
        info = log_scorer(record.production, input_example=record.test)
        run_id = run.info.run_id
    return run_id, str(info.registered_model_version)


def _log_lineage(record: RunRecord) -> None:
    commit, dirty = git_commit()
    mlflow.set_tags(
        {
            "git_commit": commit or "unknown",
            "git_dirty": str(dirty),
            "feature_catalogue_version": FEATURE_CATALOGUE_VERSION,
            "reason_catalogue_version": REASON_CATALOGUE_VERSION,
            "warehouse_fingerprint": warehouse_fingerprint(record.tables),
            "split_strategy": record.split.strategy,
            "split_honest": str(record.split.honest),
            "calibration": record.evaluated.calibrator.method,
            "model_kind": record.production.kind,
            "verdict": record.backtest.verdict()[:5000],
        }
    )


def _log_parameters(record: RunRecord) -> None:
    split, cutoffs = record.split, record.cutoffs
    mlflow.log_params(
        {
            "horizon_days": record.horizon_days,
            "lookback_days": record.settings.lookback_days,
            "cutoff_every_days": record.cutoff_every_days,
            "cutoffs": len(cutoffs),
            "first_cutoff": str(cutoffs[0]),
            "test_cutoff": str(split.test_cutoff),
            "valid_cutoffs": ",".join(str(c) for c in split.valid_cutoffs),
            "fit_cutoffs": f"{min(split.fit_cutoffs)}..{max(split.fit_cutoffs)} ({len(split.fit_cutoffs)})",
            "split_strategy": split.strategy,
            "rows_total": len(record.frame),
            "rows_fit": len(record.fit),
            "rows_valid": len(record.valid),
            "rows_test": len(record.test),
            "features": len(record.evaluated.feature_names),
            "feature_catalogue_version": FEATURE_CATALOGUE_VERSION,
            "data_first_order": str(record.time_range[0]),
            "data_last_order": str(record.time_range[1]),
            "warehouse_fingerprint": warehouse_fingerprint(record.tables),
            **{f"warehouse_{t}_rows": v["rows"] for t, v in record.tables.items()},
            "best_iteration": record.fitted.best_iteration,
            "calibration": record.evaluated.calibrator.method,
            "model_kind": record.production.kind,
            "left_out_of_trees": ",".join(record.production.metadata.get("left_out_of_trees", []))
            or "-",
            "backtest_dates": ",".join(str(d.as_of) for d in record.backtest.dates) or "-",
            **{
                f"bgnbd_{k}": round(v, 6)
                for k, v in record.baselines.bgnbd_params.to_dict().items()
            },
            **record.fit_config.to_params(),
        }
    )


def _log_metrics(record: RunRecord) -> None:
    metrics = {k: v for k, v in record.report.metrics().items() if np.isfinite(v)}
    metrics.update(record.seconds)
    metrics["fit_churn_rate"] = record.fit["churned"].mean()
    metrics.update(record.backtest.metrics())
    metrics.update({f"shift_outside_{k}": v for k, v in record.shift.items()})
    mlflow.log_metrics(metrics)
    for row in record.report.model.deciles.itertuples():
        mlflow.log_metric("heldout_lift_by_decile", float(row.lift), step=int(row.decile))
        mlflow.log_metric(
            "heldout_churn_rate_by_decile", float(row.churn_rate), step=int(row.decile)
        )
    _log_backtest_dates(record.backtest)


def _log_artifacts(record: RunRecord) -> None:
    report, scorer = record.report, record.evaluated
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "warehouse_fingerprint.json").write_text(json.dumps(record.tables, indent=1))
        write_csv(report.comparison(), folder / "comparison.csv", index=True)
        write_csv(record.backtest.table(), folder / "backtests.csv")
        (folder / "shift_at_scoring_date.json").write_text(json.dumps(record.shift, indent=1))
        write_csv(report.model.deciles, folder / "deciles_model.csv")
        write_csv(report.bgnbd.deciles, folder / "deciles_bgnbd.csv")
        write_csv(report.recency.deciles, folder / "deciles_recency.csv")
        contributions = evaluate.contribution_summary(scorer, record.X_test)
        write_csv(contributions, folder / "contribution_summary.csv")
        evaluate.plot_gains_and_lift(report, folder / "gains_lift.png")
        evaluate.plot_calibration(
            record.y_test,
            {"model": record.probability, "BG/NBD": record.baselines.bgnbd_p_no_purchase},
            folder / "calibration.png",
        )
        evaluate.plot_feature_importance(scorer, folder / "feature_importance.png")
        evaluate.plot_contributions(contributions, folder / "contribution_summary.png")
        for path in folder.iterdir():
            mlflow.log_artifact(str(path), artifact_path="evaluation")
        held = folder / HELDOUT_ARTIFACT_DIR
        held.mkdir()
        columns = dict.fromkeys(["customer_id", "cutoff", "churned", *record.evaluated.feature_names,
                                 *record.production.feature_names])  # fmt: skip
        write_held_out(record.test[list(columns)], held)
        mlflow.log_artifacts(str(held), artifact_path=HELDOUT_ARTIFACT_DIR)
