"""Batch scoring with the Spark engine: the snapshot computed once by Spark, probabilities by the
registry's pyfunc as a `spark_udf` on the executors, reasons on the driver for the customers who can
reach a queue only.

What stays on the driver: the scores of every customer (a few columns), the published snapshot
(the service reads it) and the explained rows; LightGBM training; the outreach queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from common.settings import Settings
from features.engine import SparkConnection
from features.snapshot import as_cutoff
from training.score import (
    ScoreSummary,
    check_catalogue,
    check_out_file,
    model_note,
    summarize,
    with_shift_warning,
    write_scored,
)
from training.spark_score import RegisteredModel, resolve_registered_model, spark_udf_scores


@dataclass(frozen=True)
class SparkScores:
    """A snapshot scored on Spark: the features (driver copy) and the probability of each row."""

    snapshot: pd.DataFrame
    probability: np.ndarray


def score_on_spark(
    con: SparkConnection, model: RegisteredModel, as_of: date, settings: Settings
) -> SparkScores:
    """The snapshot at `as_of` and its calibrated probabilities, both computed by Spark."""
    from features.spark_snapshot import features_dataframe, to_frame

    snapshot_df = features_dataframe(con.spark, [as_cutoff(as_of)], settings.lookback_days).cache()
    try:
        snapshot = to_frame(snapshot_df)
        scored = spark_udf_scores(con.spark, snapshot_df, model, settings).toPandas()
    finally:
        snapshot_df.unpersist()
    probability = (
        scored.set_index(scored["customer_id"].astype(str))["churn_probability"]
        .reindex(snapshot["customer_id"].astype(str))
        .to_numpy(dtype=np.float64)
    )
    if np.isnan(probability).any():
        raise RuntimeError("Spark returned no score for some customers of the snapshot")
    return SparkScores(snapshot, probability)


def scored_frame(
    scores: SparkScores, model: RegisteredModel, as_of: date, settings: Settings
) -> pd.DataFrame:
    """`churnguard score`'s columns (customer_id, churn_probability, risk_band, percentile, reasons,
    model_version, as_of); reasons only for the customers who can reach a queue (the daily job's
    reason budget, by value at risk), `[]` for the rest."""
    from churnguard.daily import REASON_BUDGET_PER_SLOT, score_snapshot
    from outreach.daily import plan_reasons, reason_budget
    from outreach.playbooks import load_playbooks
    from outreach.rules import OutreachConfig

    scorer = model.scorer
    config = OutreachConfig(horizon_days=settings.horizon_days)
    ranked, matrix = score_snapshot(
        scorer, scores.snapshot, config.horizon_days, config, probability=scores.probability
    )
    capacity = sum(load_playbooks().capacities(config.team_capacity).values())
    budget = reason_budget(capacity, config, REASON_BUDGET_PER_SLOT)
    explained = plan_reasons(ranked, frozenset(), config, budget).explained
    reasons = ["[]"] * len(ranked)
    for position, row in zip(
        explained, scorer.explain(matrix[explained]) if len(explained) else [], strict=True
    ):
        reasons[position] = json.dumps([reason.to_dict() for reason in row])
    return pd.DataFrame(
        {
            "customer_id": ranked["customer_id"].to_numpy(),
            "churn_probability": ranked["churn_probability"].to_numpy(),
            "risk_band": ranked["risk_band"].to_numpy(),
            "percentile": ranked["percentile"].to_numpy(),
            "reasons": reasons,
            "model_version": str(model.version.version),
            "as_of": pd.Timestamp(as_of),
        }
    )


def score_customers_on_spark(
    as_of: date, out: Path, model_uri: str | None, settings: Settings
) -> ScoreSummary:
    """`churnguard score` with the Spark engine: the same checks, columns and summary as on DuckDB."""
    from features.engine import connect_warehouse

    out = check_out_file(out)
    model = resolve_registered_model(
        model_uri or settings.resolved_model_uri,
        settings.tracking_uri,
        fallback_to_latest=model_uri is None,
    )
    note = model_note(model_uri, model.version)
    check_catalogue(model.scorer, model.version)
    scores = score_on_spark(connect_warehouse(settings), model, as_of, settings)
    note = with_shift_warning(note, model.scorer, scores.snapshot)
    scored = scored_frame(scores, model, as_of, settings)
    return summarize(scored, write_scored(scored, out), model.version, as_of, note)
