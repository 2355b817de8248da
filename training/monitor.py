"""`churnguard monitor` (also run by `daily`): how the champion's scores turned out, and how far
today's customers have drifted from the rows it was trained on.

- Realised performance: `daily` keeps each day's scores (`exports/scores_DAY.parquet`). Once a day's
  horizon has passed (the warehouse has orders through DAY + H), that day's ranking is judged on what
  happened: ROC-AUC, lift in the top 10% and calibration error.
- Drift: PSI per feature of today's snapshot against the decile bins of the champion's training
  rows (kept with the model, `training.shift.reference_bins`).
- Warnings: realised ROC-AUC below the backtests' by more than `REALISED_AUC_TOLERANCE`, or a
  feature's PSI above `DRIFT_PSI_THRESHOLD`. Both are logged to MLflow, written to
  `CHURNGUARD_HOME/monitor.json` (the service's `/metrics` gauges) and printed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from common.files import write_text_atomically
from common.settings import Settings
from features.snapshot import build_snapshot, last_order_day
from features.warehouse import connect
from models.pyfunc import load_scorer
from models.scorer import ChurnScorer
from training.metrics import evaluate
from training.registry import ensure_experiment, mlflow_store
from training.shift import DRIFT_PSI_THRESHOLD, drift

REALISED_AUC_TOLERANCE = 0.05  # documented in the README ("How good is my model?")
SCORES_PREFIX = "scores_"


@dataclass(frozen=True)
class RealisedDay:
    """One scored day whose horizon has passed, judged on what the customers did."""

    scored_on: date
    rows: int
    churn_rate: float
    roc_auc: float
    lift_top_decile: float
    ece: float


@dataclass(frozen=True)
class MonitorReport:
    as_of: date
    model_version: str
    expected_roc_auc: float  # the backtests' ROC-AUC of the champion's kind
    realised: tuple[RealisedDay, ...]
    waiting: int  # scored days whose horizon has not passed yet
    drift: dict[str, float]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def latest(self) -> RealisedDay | None:
        return self.realised[-1] if self.realised else None

    def summary(self) -> str:
        """One line for the daily job's report (warnings are listed separately)."""
        day = self.latest
        realised = (
            f"realised ROC-AUC {day.roc_auc:.3f} for {day.scored_on} (backtests "
            f"{self.expected_roc_auc:.3f})"
            if day is not None
            else f"no scored day's horizon has passed yet ({self.waiting} waiting)"
        )
        top = max(self.drift.items(), key=lambda item: item[1], default=None)
        drift = f"largest drift {top[0]} PSI {top[1]:.3f}" if top else "no drift reference"
        return f"monitor: {realised}; {drift}"

    def lines(self) -> str:
        out = [f"monitor {self.as_of}: champion v{self.model_version}"]
        if self.latest is None:
            out.append(
                f"  realised: no scored day's horizon has passed yet ({self.waiting} waiting)"
            )
        for day in self.realised[-5:]:
            out.append(
                f"  realised {day.scored_on}: ROC-AUC {day.roc_auc:.3f} (backtests "
                f"{self.expected_roc_auc:.3f}), top-10% lift {day.lift_top_decile:.2f}, "
                f"calibration error {day.ece:.3f}, {day.rows} customers"
            )
        worst = sorted(self.drift.items(), key=lambda item: -item[1])[:3]
        out.append("  drift (PSI): " + (", ".join(f"{n} {v:.3f}" for n, v in worst) or "-"))
        out += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(out)

    def to_dict(self) -> dict[str, object]:
        return {
            "as_of": str(self.as_of),
            "model_version": self.model_version,
            "expected_roc_auc": self.expected_roc_auc,
            "realised": [asdict(d) | {"scored_on": str(d.scored_on)} for d in self.realised],
            "waiting": self.waiting,
            "drift_psi": self.drift,
            "warnings": list(self.warnings),
        }


def judge_day(scored_on: date, scores: pd.DataFrame, came_back: set[str]) -> RealisedDay:
    """A scored day against who ordered again within the horizon (pure)."""
    churned = (~scores["customer_id"].astype(str).isin(came_back)).astype(int).to_numpy()
    e = evaluate(churned, scores["churn_probability"].to_numpy(np.float64))
    return RealisedDay(scored_on, e.rows, e.churn_rate, e.roc_auc, e.lift_top_decile, e.ece)


def warnings_for(
    expected_roc_auc: float, latest: RealisedDay | None, psi: Mapping[str, float]
) -> list[str]:
    """What a person should look at (pure): ranking worse than promised, or a shifted population."""
    found = []
    judged = (
        latest is not None and math.isfinite(latest.roc_auc) and math.isfinite(expected_roc_auc)
    )
    if judged and latest.roc_auc < expected_roc_auc - REALISED_AUC_TOLERANCE:
        found.append(
            f"the ranking of {latest.scored_on} realised ROC-AUC {latest.roc_auc:.3f}, below "
            f"the backtests' {expected_roc_auc:.3f} by more than {REALISED_AUC_TOLERANCE}: "
            "retrain (`churnguard train`) and look at what changed"
        )
    shifted = {n: v for n, v in psi.items() if v > DRIFT_PSI_THRESHOLD}
    if shifted:
        listed = ", ".join(
            f"{n} {v:.2f}" for n, v in sorted(shifted.items(), key=lambda i: -i[1])[:3]
        )
        found.append(
            f"today's customers drifted from the training rows on {len(shifted)} feature(s) "
            f"(PSI {listed}; threshold {DRIFT_PSI_THRESHOLD}): retrain on newer data"
        )
    return found


def scored_days(exports_dir: Path) -> list[tuple[date, Path]]:
    days = []
    for path in sorted(exports_dir.glob(f"{SCORES_PREFIX}*.parquet")):
        try:
            days.append((date.fromisoformat(path.stem.removeprefix(SCORES_PREFIX)), path))
        except ValueError:
            continue
    return days


def monitor(
    settings: Settings,
    as_of: date | None = None,
    model_uri: str | None = None,
    snapshot: pd.DataFrame | None = None,
    loaded: tuple[ChurnScorer, object] | None = None,
) -> MonitorReport:
    """Judge every scored day whose horizon has passed, measure today's drift, log and write both.
    `snapshot` and `loaded` (scorer, version) let `daily` hand over what it already has."""
    scorer, version = loaded or load_scorer(
        model_uri or settings.resolved_model_uri, settings.tracking_uri, fallback_to_latest=True
    )
    horizon = timedelta(days=scorer.horizon_days)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        last_day = last_order_day(con)
        if last_day is None:
            raise ValueError("the warehouse has no orders: run `churnguard ingest DIR`")
        end = last_day.date() + timedelta(days=1)  # orders are known up to here
        as_of = as_of or end
        if snapshot is None:
            snapshot = build_snapshot(con, as_of, settings.lookback_days)
        realised, waiting = [], 0
        for scored_on, path in scored_days(settings.exports_dir):
            if scored_on + horizon > end:
                waiting += 1
                continue
            came_back = {
                str(row[0])
                for row in con.execute(
                    "SELECT DISTINCT customer_id FROM orders WHERE ordered_at >= ? AND ordered_at < ?",
                    [scored_on, scored_on + horizon],
                ).fetchall()
            }
            scores = pd.read_parquet(path, columns=["customer_id", "churn_probability"])
            realised.append(judge_day(scored_on, scores, came_back))
    finally:
        con.close()
    psi = drift(scorer.metadata.get("drift_reference") or {}, snapshot)
    expected = float(scorer.metadata.get("expected_roc_auc", float("nan")))
    latest = realised[-1] if realised else None
    report = MonitorReport(
        as_of, str(getattr(version, "version", version)), expected, tuple(realised), waiting,
        psi, tuple(warnings_for(expected, latest, psi)),
    )  # fmt: skip
    _log(settings, report)
    write_monitor_file(settings.monitor_path, report)
    return report


def write_monitor_file(path: Path, report: MonitorReport) -> Path:
    return write_text_atomically(path, json.dumps(report.to_dict(), indent=1, default=float))


def _log(settings: Settings, report: MonitorReport) -> None:
    metrics: dict[str, float] = {f"drift_psi_{n}": v for n, v in report.drift.items()}
    if report.latest is not None:
        metrics.update(
            {
                "realised_roc_auc": report.latest.roc_auc,
                "realised_lift_top_decile": report.latest.lift_top_decile,
                "realised_ece": report.latest.ece,
            }
        )
    metrics["monitor_warnings"] = float(len(report.warnings))
    with mlflow_store(settings) as client:
        experiment_id = ensure_experiment(client, settings.experiment, settings)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"monitor-{report.as_of}"):
            mlflow.set_tags(
                {"kind": "monitor", "model_version": report.model_version,
                 "warnings": " | ".join(report.warnings)[:5000] or "-"}
            )  # fmt: skip
            mlflow.log_metrics({k: v for k, v in metrics.items() if math.isfinite(v)})
            for step, day in enumerate(report.realised):
                if math.isfinite(day.roc_auc):
                    mlflow.log_metric("realised_roc_auc_by_day", day.roc_auc, step=step)


__all__: Sequence[str] = ("MonitorReport", "monitor", "warnings_for")
