"""The daily job: refresh features, score every active customer, publish the snapshot the service
serves, and build today's outreach queues.

Each step writes atomically (a file renamed into place, one database transaction), so a job killed
halfway is finished by re-running it for the same date, and a re-run duplicates nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from common.files import run_lock
from common.names import UPLIFT_MODEL_NAME
from common.settings import Settings
from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
from features.contacts import (
    combine_history,
    contacted_within,
    read_contacts,
    silent_since_contact,
)
from features.engine import connect_warehouse
from features.language import customer_languages, primary_subtag
from features.publish import publish_snapshot, published_day, write_parquet_atomically
from features.snapshot import build_snapshot
from features.value import snapshot_expected_value, value_at_risk
from features.warehouse import last_event_day, outreach_customers
from models.pyfunc import NoChampionError, load_scorer
from models.scorer import ChurnScorer
from outreach.daily import build_daily_queues, open_day, plan_reasons, reason_budget
from outreach.playbooks import Playbooks, load_playbooks
from outreach.records import QueueRunReport
from outreach.rules import DRAFT_FACT_COLUMNS, EXCLUSION_RULES, SCORED_COLUMNS, OutreachConfig
from outreach.saving import (
    SavingSource,
    best_playbook,
    expected_savings,
    prior_uplift,
    reason_playbooks,
)
from outreach.store import OutreachStore, open_store
from training.monitor import monitor
from training.shift import scoring_shift_warning

log = logging.getLogger(__name__)

# Reasons (TreeSHAP) cost ~1 ms a row, so they are computed only for the customers who can reach a
# queue: the best `REASON_BUDGET_PER_SLOT` candidates per slot of daily capacity, by expected saving.
REASON_BUDGET_PER_SLOT = 4
DAILY_LOCK = "daily.lock"


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
    monitor: str = ""  # `churnguard monitor` in one line; its warnings are in `warnings`
    serving_as_of: date | None = None  # the day the service reads: later than as_of on a backfill
    saving_source: str = ""


def default_as_of(con, today: date | None = None) -> date:
    """Today, or the day after the data ends when the data is older (a demo or a replayed export)."""
    today = today or date.today()
    last = last_event_day(con)
    if last is None:
        raise ValueError("the warehouse has no orders: run `churnguard ingest DATA_DIR` first")
    return min(today, last + timedelta(days=1))


def score_snapshot(
    scorer: ChurnScorer,
    snapshot: pd.DataFrame,
    horizon_days: int,
    config: OutreachConfig,
    probability: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Calibrated probability, band, percentile and value at risk of every customer in a snapshot
    (`probability` when another engine already computed it: Spark's executors)."""
    matrix = scorer.matrix(snapshot)
    if probability is None:
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
    scores["expected_value"] = snapshot_expected_value(snapshot, horizon_days)
    scores["value_at_risk"] = value_at_risk(probability, scores["expected_value"])
    return scores, matrix


def uplift_of_the_day(
    snapshot: pd.DataFrame,
    probability: np.ndarray,
    playbooks: Playbooks,
    tracking_uri: str,
    horizon_days: int,
) -> tuple[pd.DataFrame, SavingSource]:
    """Per playbook, the predicted drop in churn probability (over `horizon_days`): from the uplift
    champion where it models the playbook, else from the prior in playbooks.yaml; and which, and
    why."""
    from models.uplift import load_uplift

    try:
        model, version = load_uplift(tracking_uri)
    except NoChampionError as error:
        registered = "has no version" not in str(error) and "no model registered" not in str(error)
        why = (
            f"{UPLIFT_MODEL_NAME} has not passed a gate on held-out campaigns (neither the "
            "T-learner beat value at risk nor the fitted prior playbooks.yaml's weights)"
            if registered
            else "no uplift model: no contact history with a finished horizon to learn from "
            "(import past campaigns as contacts, or let the queues run for a horizon)"
        )
        return prior_uplift(snapshot, probability, playbooks, horizon_days), SavingSource(
            "prior from playbooks.yaml", why
        )
    drives = model.metadata.get("drives", "t-learner")
    if drives == "saving prior":
        fitted = model.metadata["saving_prior"]
        uplift = prior_uplift(
            snapshot, probability, playbooks, horizon_days, fitted["coefficients"]
        )
        detail = (
            f"{UPLIFT_MODEL_NAME}/{version.version}: playbooks.yaml's weights fitted to the shop's "
            f"campaigns ({fitted['reason']})"
        )
        return uplift, SavingSource("saving prior fitted to the campaigns", detail)
    learned = model.predict_uplift(snapshot)
    modelled = [p for p in reason_playbooks(playbooks) if p in learned.columns]
    uplift = prior_uplift(snapshot, probability, playbooks, horizon_days)
    uplift[modelled] = learned[modelled].to_numpy()
    rest = [p for p in uplift.columns if p not in modelled]
    detail = f"{UPLIFT_MODEL_NAME}/{version.version} (passed its gate) for {', '.join(modelled)}"
    if rest:
        detail += f"; prior for {', '.join(rest)} (too few contacts to learn)"
    return uplift, SavingSource("uplift model", detail)


def run_daily(
    settings: Settings,
    as_of: date | None = None,
    model_uri: str | None = None,
    config: OutreachConfig | None = None,
    playbooks: Playbooks | None = None,
    store: OutreachStore | None = None,
) -> DailyReport:
    """Score every active customer at `as_of` (default: `default_as_of`), publish the snapshot for
    the service, write the scores export and build the day's queues by expected saving. One daily
    job at a time: another one running is `Busy`, with its pid and start."""
    settings.ensure_home()
    with run_lock(settings.home_dir / DAILY_LOCK, "daily"):
        return _run_daily(settings, as_of, model_uri, config, playbooks, store)


def far_past_the_data(as_of: date, last_event: date | None, horizon_days: int) -> str | None:
    """A warning when `as_of` is more than the horizon after the data ends: everyone looks lapsed."""
    if last_event is None or (as_of - last_event).days <= horizon_days:
        return None
    return (
        f"--as-of {as_of} is {(as_of - last_event).days} days after the data ends ({last_event}), "
        f"more than the {horizon_days}-day horizon: every customer looks lapsed; ingest newer "
        "data or pick an earlier day"
    )


def _run_daily(
    settings: Settings,
    as_of: date | None,
    model_uri: str | None,
    config: OutreachConfig | None,
    playbooks: Playbooks | None,
    store: OutreachStore | None,
) -> DailyReport:
    config = config or OutreachConfig(
        horizon_days=settings.horizon_days, default_language=settings.language
    )
    playbooks = playbooks or load_playbooks()
    con = connect_warehouse(settings)
    probability = None
    try:
        as_of = as_of or default_as_of(con)
        far = far_past_the_data(as_of, last_event_day(con), settings.horizon_days)
        customers = outreach_customers(con)
        imported = read_contacts(con)
        languages = customer_languages(con, settings.language)
        if settings.engine == "spark":  # snapshot and probabilities on Spark, the rest as below
            from churnguard.spark_batch import score_on_spark
            from training.spark_score import resolve_registered_model

            model = resolve_registered_model(
                model_uri or settings.resolved_model_uri, settings.tracking_uri
            )
            scorer, version = model.scorer, model.version
            on_spark = score_on_spark(con, model, as_of, settings)
            snapshot, probability = on_spark.snapshot, on_spark.probability
        else:
            snapshot = build_snapshot(con, as_of, settings.lookback_days)
    finally:
        con.close()
    if snapshot.empty:
        raise ValueError(
            f"no active customer at {as_of}: nobody ordered in the {settings.lookback_days} days before"
        )
    if probability is None:
        scorer, version = load_scorer(
            model_uri or settings.resolved_model_uri, settings.tracking_uri
        )
    model_version = f"{version.name}/{version.version}"
    scores, matrix = score_snapshot(scorer, snapshot, config.horizon_days, config, probability)
    shifted = scoring_shift_warning(scorer.metadata, snapshot)
    uplift, source = uplift_of_the_day(
        snapshot,
        scores["churn_probability"].to_numpy(),
        playbooks,
        settings.tracking_uri,
        config.horizon_days,
    )
    savings = expected_savings(uplift, scores["expected_value"].to_numpy())
    best_names, scores["expected_saving"] = best_playbook(savings)

    store = store or open_store(settings.queue_database_url)
    history = combine_history(imported, store.contact_history())
    contacted = contacted_within(history, as_of, config.cooldown_days)
    # A date already built is left as it was (build_daily_queues says so); only a new one is opened.
    opened = open_day(store, as_of, config, contacted) if store.run_report(as_of) is None else None
    cooling = opened.cooling_down if opened else frozenset()
    capacity = sum(playbooks.capacities(config.team_capacity).values())
    plan = plan_reasons(
        scores,
        cooling,
        config,
        reason_budget(capacity, config, REASON_BUDGET_PER_SLOT),
        priority="expected_saving",
    )
    reasons: list[list[dict]] = [[] for _ in range(len(scores))]
    explained = plan.explained
    for position, row_reasons in zip(
        explained, scorer.explain(matrix[explained]) if len(explained) else [], strict=True
    ):
        reasons[position] = [reason.to_dict() for reason in row_reasons]
    scores["reasons"] = reasons
    scores["model_version"] = model_version
    scores["as_of"] = pd.Timestamp(as_of)

    scores_path = write_parquet_atomically(
        scores.drop(
            columns=["orders_365d", "avg_order_value", "tenure_days", *DRAFT_FACT_COLUMNS]
        ).assign(best_playbook=best_names),
        settings.exports_dir / f"scores_{as_of.isoformat()}.parquet",
    )
    # before the snapshot is published: the service reads the monitor's figures when it reloads
    monitored = monitor(settings, as_of, snapshot=snapshot, loaded=(scorer, version))
    default_language = primary_subtag(settings.language)
    snapshot_path = publish_snapshot(
        snapshot,
        settings.snapshots_dir,
        as_of,
        FEATURE_NAMES,
        FEATURE_CATALOGUE_VERSION,
        expected_saving=scores["expected_saving"].to_numpy(),
        languages=[
            languages.get(customer, default_language)
            for customer in snapshot["customer_id"].astype(str)
        ],
    )

    queues = build_daily_queues(
        store,
        scores.loc[plan.in_queue_run, [*SCORED_COLUMNS, *DRAFT_FACT_COLUMNS]],
        customers,
        as_of,
        config=config,
        playbooks=playbooks,
        model_version=model_version,
        over_capacity_before=plan.over_capacity_before,
        scored_total=len(scores),
        opened=opened,
        savings=savings.loc[plan.in_queue_run],
        saving_source=source.describe(),
        silent_since_contact=silent_since_contact(
            history,
            snapshot["customer_id"],
            snapshot["days_since_last_order"],
            as_of,
            config.silent_after_days,
            snapshot["usual_gap_days"],
        ),
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
        warnings=(
            *(warning for warning in (far, shifted) if warning is not None),
            *monitored.warnings,
        ),
        monitor=monitored.summary(),
        serving_as_of=published_day(settings.snapshots_dir),
        saving_source=queues.saving_source or source.describe(),
    )


def format_daily_report(report: DailyReport) -> str:
    """What the daily job did, in a few lines for a person or a cron mail."""
    queues = report.queues
    teams = ", ".join(f"{team} {n}" for team, n in sorted(queues.queued_by_team.items())) or "none"
    left_out = ", ".join(
        f"{rule.replace('_', ' ')} {getattr(queues, rule)}" for rule in EXCLUSION_RULES
    )
    built = "already built earlier: nothing changed" if queues.already_built else "built"
    published = "published for the service"
    if report.serving_as_of is not None and report.serving_as_of > report.as_of:
        published = f"a backfill: the service keeps serving {report.serving_as_of}"
    return "\n".join(
        [
            f"daily {report.as_of}: scored {report.customers_scored:,} active customers with "
            f"{report.model_version}; reasons for the top {report.reasons_computed:,}",
            f"  scores:   {report.scores_path}",
            f"  snapshot: {report.snapshot_path} ({published})",
            f"  queues {built}: {queues.queued:,} queued ({teams})",
            f"  left out: {left_out}",
            *(f"  warning: {warning}" for warning in report.warnings),
            f"  priority: expected saving from the {report.saving_source}",
        ]
    )
