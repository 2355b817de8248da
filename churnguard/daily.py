"""The daily job: refresh features, score every active customer, publish the snapshot the service
serves, and build today's outreach queues.

Each step writes atomically (a file renamed into place, one database transaction), so a job killed
halfway is finished by re-running it for the same date, and a re-run duplicates nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from common.settings import Settings
from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
from features.language import customer_languages
from features.publish import publish_snapshot, write_parquet_atomically
from features.snapshot import build_snapshot
from features.warehouse import connect
from models.pyfunc import load_scorer
from models.scorer import ChurnScorer
from outreach.daily import build_daily_queues, open_day
from outreach.playbooks import Playbooks, load_playbooks
from outreach.records import QueueRunReport
from outreach.rules import (
    DRAFT_FACT_COLUMNS,
    EXCLUSION_RULES,
    SCORED_COLUMNS,
    OutreachConfig,
    expected_value,
)
from outreach.store import OutreachStore, open_store
from training.shift import scoring_shift_warning

# Reasons (TreeSHAP) cost ~1 ms a row, so they are computed only for the customers who can reach a
# queue: the best `REASON_BUDGET_PER_SLOT` candidates per slot of daily capacity, by value at risk.
REASON_BUDGET_PER_SLOT = 4
CUSTOMER_COLUMNS = (
    "customer_id",
    "preferred_channel",
    "consent_email",
    "consent_phone",
    "consent_sms",
)


@dataclass(frozen=True)
class DailyReport:
    """What one run of the daily job did."""

    as_of: date
    model_version: str
    customers_scored: int
    reasons_computed: int
    scores_path: Path
    snapshot_path: Path
    queues: QueueRunReport
    warnings: tuple[str, ...] = ()  # e.g. the scored customers lie outside the training rows


def last_event_day(con) -> date | None:
    """The last day anything happened in the warehouse (an order, a delivery or feedback)."""
    latest = con.execute(
        """
        SELECT max(moment) FROM (
            SELECT max(ordered_at) AS moment FROM orders
            UNION ALL SELECT max(delivered_at) FROM deliveries
            UNION ALL SELECT max(created_at) FROM feedback
        )
        """
    ).fetchone()[0]
    return None if latest is None else pd.Timestamp(latest).date()


def default_as_of(con, today: date | None = None) -> date:
    """Today, or the day after the data ends when the data is older (a demo or a replayed export)."""
    today = today or date.today()
    last = last_event_day(con)
    if last is None:
        raise ValueError("the warehouse has no orders: run `churnguard ingest DATA_DIR` first")
    return min(today, last + timedelta(days=1))


def reason_candidates(
    scores: pd.DataFrame, cooling_down: frozenset[str], config: OutreachConfig, budget: int
) -> np.ndarray:
    """Row positions of the customers worth explaining: eligible by probability, not cooling down,
    the `budget` highest by value at risk (ties by probability)."""
    eligible = (scores["churn_probability"].to_numpy() >= config.min_churn_probability) & ~scores[
        "customer_id"
    ].isin(cooling_down).to_numpy()
    positions = np.flatnonzero(eligible)
    order = np.lexsort(
        (
            -scores["churn_probability"].to_numpy()[positions],
            -scores["value_at_risk"].to_numpy()[positions],
        )
    )
    return positions[order[:budget]]


def score_snapshot(
    scorer: ChurnScorer, snapshot: pd.DataFrame, horizon_days: int, config: OutreachConfig
) -> tuple[pd.DataFrame, np.ndarray]:
    """Calibrated probability, band, percentile and value at risk of every customer in a snapshot."""
    matrix = scorer.matrix(snapshot)
    probability = scorer.predict_proba(matrix)
    scores = pd.DataFrame(
        {
            "customer_id": snapshot["customer_id"].astype(str).to_numpy(),
            "churn_probability": probability,
            "risk_band": scorer.risk_band(probability),
            "percentile": scorer.percentile(probability),
            "orders_365d": snapshot["orders_365d"].to_numpy(),
            "avg_order_value": snapshot["avg_order_value"].to_numpy(),
            "tenure_days": snapshot["days_since_first_order"].to_numpy(),
            # facts the drafts state ("your order of 12 May arrived 4 days late")
            **{name: snapshot[name].to_numpy() for name in DRAFT_FACT_COLUMNS},
        }
    )
    scores["expected_value"] = expected_value(
        scores["orders_365d"],
        scores["avg_order_value"],
        scores["tenure_days"],
        horizon_days,
        config.min_rate_days,
    )
    scores["value_at_risk"] = scores["churn_probability"] * scores["expected_value"]
    return scores, matrix


def _customers_table(con) -> pd.DataFrame | None:
    customers = con.execute(f"SELECT {', '.join(CUSTOMER_COLUMNS)} FROM customers").df()
    return None if customers.empty else customers


def run_daily(
    settings: Settings,
    as_of: date | None = None,
    model_uri: str | None = None,
    config: OutreachConfig | None = None,
    playbooks: Playbooks | None = None,
    store: OutreachStore | None = None,
) -> DailyReport:
    """Score every active customer at `as_of` (default: `default_as_of`), publish the snapshot for
    the service, write the scores export and build the day's queues."""
    settings.ensure_home()
    config = config or OutreachConfig(
        horizon_days=settings.horizon_days, default_language=settings.language
    )
    playbooks = playbooks or load_playbooks()
    con = connect(settings.warehouse_path, read_only=True)
    try:
        as_of = as_of or default_as_of(con)
        snapshot = build_snapshot(con, as_of, settings.lookback_days)
        customers = _customers_table(con)
        languages = customer_languages(con, settings.language)
    finally:
        con.close()
    if snapshot.empty:
        raise ValueError(
            f"no active customer at {as_of}: nobody ordered in the {settings.lookback_days} days before"
        )
    scorer, version = load_scorer(model_uri or settings.resolved_model_uri, settings.tracking_uri)
    model_version = f"{version.name}/{version.version}"
    scores, matrix = score_snapshot(scorer, snapshot, config.horizon_days, config)
    shifted = scoring_shift_warning(scorer.metadata, snapshot)

    store = store or open_store(settings.queue_database_url)
    # A date already built is left as it was (build_daily_queues says so); only a new one is opened.
    opened = open_day(store, as_of, config) if store.run_report(as_of) is None else None
    cooling = opened.cooling_down if opened else frozenset()
    capacity = sum(playbooks.capacities(config.team_capacity).values())
    budget = math.ceil(REASON_BUDGET_PER_SLOT * capacity / (1 - config.control_fraction))
    explained = reason_candidates(scores, cooling, config, budget)
    reasons: list[list[dict]] = [[] for _ in range(len(scores))]
    for position, row_reasons in zip(
        explained, scorer.explain(matrix[explained]) if len(explained) else [], strict=True
    ):
        reasons[position] = [reason.to_dict() for reason in row_reasons]
    scores["reasons"] = reasons
    scores["model_version"] = model_version
    scores["as_of"] = pd.Timestamp(as_of)

    scores_path = write_parquet_atomically(
        scores.drop(columns=["orders_365d", "avg_order_value", "tenure_days", *DRAFT_FACT_COLUMNS]),
        settings.exports_dir / f"scores_{as_of.isoformat()}.parquet",
    )
    snapshot_path = publish_snapshot(
        snapshot, settings.snapshots_dir, as_of, FEATURE_NAMES, FEATURE_CATALOGUE_VERSION
    )

    # Customers above the probability floor whom the reason budget left out cannot be queued today:
    # they rank below every explained candidate, so they count as over capacity.
    above_floor = scores["churn_probability"].to_numpy() >= config.min_churn_probability
    in_queue_run = ~above_floor | scores["customer_id"].isin(cooling).to_numpy()
    in_queue_run[explained] = True
    queue_input = scores.loc[in_queue_run, [*SCORED_COLUMNS, *DRAFT_FACT_COLUMNS]]
    queues = build_daily_queues(
        store,
        queue_input,
        customers,
        as_of,
        config=config,
        playbooks=playbooks,
        model_version=model_version,
        over_capacity_before=int((~in_queue_run).sum()),
        scored_total=len(scores),
        opened=opened,
        languages=languages,
    )
    return DailyReport(
        as_of=as_of,
        model_version=model_version,
        customers_scored=len(scores),
        reasons_computed=len(explained),
        scores_path=scores_path,
        snapshot_path=snapshot_path,
        queues=queues,
        warnings=() if shifted is None else (shifted,),
    )


def format_daily_report(report: DailyReport) -> str:
    """What the daily job did, in a few lines for a person or a cron mail."""
    queues = report.queues
    teams = ", ".join(f"{team} {n}" for team, n in sorted(queues.queued_by_team.items())) or "none"
    left_out = ", ".join(
        f"{rule.replace('_', ' ')} {getattr(queues, rule)}" for rule in EXCLUSION_RULES
    )
    built = "already built earlier: nothing changed" if queues.already_built else "built"
    return "\n".join(
        [
            f"daily {report.as_of}: scored {report.customers_scored:,} active customers with "
            f"{report.model_version}; reasons for the top {report.reasons_computed:,}",
            f"  scores:   {report.scores_path}",
            f"  snapshot: {report.snapshot_path} (published for the service)",
            f"  queues {built}: {queues.queued:,} queued ({teams})",
            f"  left out: {left_out}",
            *(f"  warning: {warning}" for warning in report.warnings),
        ]
    )
