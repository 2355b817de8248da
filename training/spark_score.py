"""Batch scoring on Spark: the registry's model as `mlflow.pyfunc.spark_udf` over a Spark snapshot.

The executors load the same pyfunc the service and `churnguard score` use (`env_manager="local"`:
the cluster's Python already has churnguard's dependencies) and return probability, band and
percentile for every customer. Reasons (TreeSHAP, ~1.6 ms a row) are not computed there: the caller
explains, on the driver, only the few customers who can reach a queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mlflow

from common.names import CHAMPION_ALIAS
from common.settings import Settings
from models.pyfunc import _artifact_uri, load_scorer, resolve_or_latest
from training.registry import mlflow_store

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from pyspark.sql import DataFrame, SparkSession

    from models.scorer import ChurnScorer

SCORE_COLUMNS = ("churn_probability", "risk_band", "percentile")
_RESULT_TYPE = "churn_probability double, risk_band string, percentile double, reasons string"


@dataclass(frozen=True)
class RegisteredModel:
    """A registry version resolved once: the driver's scorer and where the executors load it from."""

    scorer: ChurnScorer
    version: ModelVersion
    artifact_uri: str


def resolve_registered_model(
    model_uri: str, tracking_uri: str, fallback_to_latest: bool = False
) -> RegisteredModel:
    """The version behind a `models:/` URI (the champion by default), as `load_scorer` resolves it."""
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = resolve_or_latest(client, model_uri, fallback_to_latest)
    scorer, _ = load_scorer(f"models:/{version.name}/{version.version}", tracking_uri)
    return RegisteredModel(scorer, version, _artifact_uri(client, version))


def is_champion(model: RegisteredModel) -> bool:
    return CHAMPION_ALIAS in (model.version.aliases or [])


def spark_udf_scores(
    spark: SparkSession, snapshot: DataFrame, model: RegisteredModel, settings: Settings
) -> DataFrame:
    """customer_id, churn_probability, risk_band and percentile of every row of a Spark snapshot,
    computed on the executors by the registered pyfunc (no reasons)."""
    from pyspark.sql import functions as F

    with mlflow_store(settings):  # spark_udf downloads the artifacts through the fluent API
        udf = mlflow.pyfunc.spark_udf(
            spark,
            model.artifact_uri,
            result_type=_RESULT_TYPE,
            env_manager="local",
            params={"reasons": False},
        )
    names = list(model.scorer.feature_names)
    doubles = snapshot.select("customer_id", *(F.col(n).cast("double").alias(n) for n in names))
    # spark_udf maps columns to the signature's inputs by position: customer_id, then the features
    scored = doubles.withColumn("_score", udf("customer_id", *names))
    return scored.select(
        "customer_id", *(F.col(f"_score.{column}").alias(column) for column in SCORE_COLUMNS)
    )
