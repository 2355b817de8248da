"""Prometheus metrics beyond BentoML's own, through `bentoml.metrics` (multiprocess-safe, lazy)."""

from __future__ import annotations

import json
from pathlib import Path

import bentoml

CUSTOMERS_SCORED = bentoml.metrics.Counter(
    name="churnguard_score_customers_total",
    documentation="Customers handled by /score, by outcome (scored, unknown_customer, no_snapshot).",
    labelnames=["outcome"],
)
SCORE_REQUESTS = bentoml.metrics.Histogram(
    name="churnguard_score_request_seconds",
    documentation="Latency of /score requests by outcome (ok, invalid, unauthorized, forbidden, "
    "too_large, not_ready, error).",
    labelnames=["outcome"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RELOADS = bentoml.metrics.Counter(
    name="churnguard_reloads_total",
    documentation="Model and snapshot reloads by kind (model, snapshot) and outcome (ok, failed).",
    labelnames=["kind", "outcome"],
)

MONITOR_REALISED_AUC = bentoml.metrics.Gauge(
    name="churnguard_monitor_realised_roc_auc",
    documentation="Realised ROC-AUC of the latest scored day whose horizon has passed "
    "(`churnguard monitor`); NaN before any has.",
    multiprocess_mode="max",
)
MONITOR_EXPECTED_AUC = bentoml.metrics.Gauge(
    name="churnguard_monitor_backtest_roc_auc",
    documentation="The champion's ROC-AUC on its backtests, which the realised one is compared with.",
    multiprocess_mode="max",
)
MONITOR_DRIFT = bentoml.metrics.Gauge(
    name="churnguard_monitor_drift_psi",
    documentation="PSI of today's snapshot against the champion's training rows, per feature.",
    labelnames=["feature"],
    multiprocess_mode="max",
)
MONITOR_WARNINGS = bentoml.metrics.Gauge(
    name="churnguard_monitor_warnings",
    documentation="Warnings of the latest `churnguard monitor` (realised AUC too low, drift).",
    multiprocess_mode="max",
)


def read_monitor_file(path: Path) -> dict | None:
    """The latest figures `churnguard monitor` wrote, or None (not run yet, or unreadable)."""
    try:
        figures = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return figures if isinstance(figures, dict) else None


def publish_monitor(figures: dict | None) -> None:
    """Set the monitor gauges from the figures `churnguard monitor` wrote (None: leave them)."""
    if not figures:
        return
    realised = figures.get("realised") or []
    MONITOR_REALISED_AUC.set(float(realised[-1]["roc_auc"]) if realised else float("nan"))
    MONITOR_EXPECTED_AUC.set(float(figures.get("expected_roc_auc", float("nan"))))
    for feature, value in (figures.get("drift_psi") or {}).items():
        MONITOR_DRIFT.labels(feature=feature).set(float(value))
    MONITOR_WARNINGS.set(len(figures.get("warnings") or []))


OUTCOME_OF_STATUS = {
    200: "ok",
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    413: "too_large",
    415: "invalid",
    422: "invalid",
    503: "not_ready",
}

OVERDUE_ITEMS = bentoml.metrics.Gauge(
    name="churnguard_outreach_overdue_items",
    documentation="Open outreach items past their team's service level, by team (as of the scrape).",
    labelnames=["team"],
    multiprocess_mode="livemostrecent",
)


def refresh_overdue(store, teams: list[str]) -> None:
    """Set the overdue gauge from the queue store; teams with none are set to 0."""
    counts = store.overdue_counts()
    for team in sorted(set(teams) | set(counts)):
        OVERDUE_ITEMS.labels(team=team).set(counts.get(team, 0))
