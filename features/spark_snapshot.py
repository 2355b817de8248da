"""Point-in-time snapshots, labels and training sets on Spark, from the same statement as DuckDB's.

`features.snapshot.features_sql` assembles the statement from the catalogue; `features.spark_sql`
transpiles it. The tables are whatever the session calls `orders`, `deliveries` and `feedback`
(the Parquet warehouse registers them, see `features.spark_warehouse`). Frames come back as the
DuckDB path returns them, so everything downstream (training, scoring) is engine-blind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

import pandas as pd

from common.names import DELIVERIES, FEEDBACK, ORDERS
from features.catalogue import FEATURE_NAMES, FEATURES, FeatureDefinition
from features.snapshot import (
    DEFAULT_LOOKBACK_DAYS,
    LAST_ORDER_DAY_SQL,
    as_cutoff,
    check_label_window_against,
    features_sql,
)
from features.spark_sql import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def features_dataframe(
    spark: SparkSession,
    cutoffs: Sequence[datetime],
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    horizon_days: int | None = None,
) -> DataFrame:
    """The snapshot (with a horizon: the training set) as a lazy Spark DataFrame, sorted as DuckDB's."""
    moments = [as_cutoff(c) for c in cutoffs]
    return spark.sql(to_spark(features_sql(moments, lookback_days, horizon_days)))


def to_frame(snapshot: DataFrame) -> pd.DataFrame:
    """Collect to the driver with the DuckDB path's dtypes: str ids, datetime64 cutoffs, float64
    features (NaN = missing), int64 labels."""
    frame = snapshot.toPandas()
    for column in ("as_of", "cutoff"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    frame["customer_id"] = frame["customer_id"].astype("str")
    features = [name for name in FEATURE_NAMES if name in frame.columns]
    frame[features] = frame[features].astype("float64")
    if "churned" in frame.columns:
        frame["churned"] = frame["churned"].astype("int64")
    return frame


def build_snapshot(
    spark: SparkSession, as_of: datetime | date, lookback_days: int = DEFAULT_LOOKBACK_DAYS
) -> pd.DataFrame:
    """`features.snapshot.build_snapshot`, computed by Spark."""
    return to_frame(features_dataframe(spark, [as_cutoff(as_of)], lookback_days))


def last_order_day(spark: SparkSession) -> datetime | None:
    """Midnight of the day of the latest order (the same SQL as on DuckDB)."""
    day = spark.sql(to_spark(LAST_ORDER_DAY_SQL))  # date_trunc gives TIMESTAMP: back to naive UTC
    latest = day.selectExpr(f"CAST(`{day.columns[0]}` AS TIMESTAMP_NTZ)").collect()[0][0]
    return None if latest is None else pd.Timestamp(latest).to_pydatetime()


def build_training_set(
    spark: SparkSession,
    cutoffs: Iterable[datetime | date],
    horizon_days: int = 90,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """`features.snapshot.build_training_set` on Spark: every cutoff in one job (the cluster
    parallelises over cutoffs as well as customers), collected to the driver for fitting."""
    moments = sorted({as_cutoff(c) for c in cutoffs})
    if not moments:
        raise ValueError("a training set needs at least one cutoff")
    check_label_window_against(last_order_day(spark), moments, horizon_days)
    frame = to_frame(features_dataframe(spark, moments, lookback_days, horizon_days))
    return frame.rename(columns={"as_of": "cutoff"})


def build_labels(
    spark: SparkSession,
    as_of: datetime | date,
    horizon_days: int = 90,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """customer_id, as_of and churned for the customers active at `as_of`, computed by Spark."""
    moment = as_cutoff(as_of)
    check_label_window_against(last_order_day(spark), [moment], horizon_days)
    labelled = features_dataframe(spark, [moment], lookback_days, horizon_days)
    return to_frame(labelled.select("customer_id", "as_of", "churned"))


def _empty_tables() -> str:
    """The contract tables as empty relations with their warehouse types, for analysis alone."""
    from features.contract import CONTRACT
    from features.spark_warehouse import spark_schema

    tables = []
    for table in (ORDERS, DELIVERIES, FEEDBACK):
        columns = ", ".join(
            f"CAST(NULL AS {field.dataType.simpleString()}) AS {field.name}"
            for field in spark_schema(CONTRACT[table]).fields
        )
        tables.append(f"{table} AS (SELECT {columns} WHERE false)")
    return ", ".join(tables)


def features_without_spark_form(
    spark: SparkSession, features: Sequence[FeatureDefinition] = FEATURES
) -> dict[str, str]:
    """Catalogue features Spark cannot compute, by name, with the first line of Spark's complaint.

    Each feature's expression is transpiled and analysed (not run) in the statement it lives in, so a
    DuckDB-only function, or a construct the transpiler carries across wrongly enough to be refused,
    names the feature instead of failing the whole snapshot.
    """
    from pyspark.errors import PySparkException

    known = {"orders": "known_orders", "deliveries": "known_orders", "feedback": "known_feedback"}
    statement = to_spark(features_sql([datetime(2000, 1, 1)], DEFAULT_LOOKBACK_DAYS))
    ctes = statement[: statement.index("customer_agg AS (")].rstrip().rstrip(",")
    ctes = ctes.replace("WITH ", f"WITH {_empty_tables()}, ", 1)  # analysis needs no warehouse
    aggregates = ", ".join(
        f"CAST(NULL AS DOUBLE) AS {f.name}" for f in FEATURES if f.stage != "derived"
    )
    problems: dict[str, str] = {}
    for feature in features:
        if feature.stage == "derived":
            query = f"{ctes} SELECT {feature.sql} AS {feature.name} FROM (SELECT {aggregates})"
        else:
            query = (
                f"{ctes} SELECT customer_id, t, {feature.sql} AS {feature.name} "
                f"FROM {known[feature.stage]} GROUP BY customer_id, t"
            )
        try:
            spark.sql(to_spark(query)).schema  # noqa: B018 - analysis is the check
        except PySparkException as error:
            problems[feature.name] = str(error).strip().splitlines()[0]
        except Exception as error:  # SQLGlot cannot parse or generate it
            problems[feature.name] = f"{type(error).__name__}: {error}".splitlines()[0]
    return problems
