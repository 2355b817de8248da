"""The warehouse the settings choose: DuckDB's file, or the Spark warehouse behind a look-alike.

`SparkConnection.execute(sql, params)` takes the same DuckDB SQL the embedded path runs (features,
training cutoffs, BG/NBD summaries, lineage), binds its `?` parameters as literals, transpiles it
(`features.spark_sql`) and runs it on Spark; results come back as DuckDB's do (`fetchall`,
`fetchone`, `df`), with timestamps as naive UTC. So training and scoring code reads one warehouse
interface and no query is written twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from common.settings import Settings

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import DataFrame, SparkSession


class NoSparkFormError(NotImplementedError):
    """An operation asked of the Spark engine that has no Spark form yet (never a silent fallback)."""


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def bind(sql: str, params: list[Any] | tuple[Any, ...] | None) -> str:
    """DuckDB SQL with its `?` placeholders (outside string literals) replaced by literals, in order."""
    if not params:
        return sql
    values = iter(params)
    pieces = sql.split("'")
    try:
        for i in range(0, len(pieces), 2):  # even pieces are outside quotes
            parts = pieces[i].split("?")
            pieces[i] = parts[0] + "".join(_literal(next(values)) + rest for rest in parts[1:])
    except StopIteration:
        raise ValueError(f"more placeholders than the {len(params)} parameters given") from None
    if next(values, _END) is not _END:
        raise ValueError(f"fewer placeholders than the {len(params)} parameters given")
    return "'".join(pieces)


_END = object()


class SparkResult:
    """One statement's result, read as a DuckDB result is."""

    def __init__(self, frame: DataFrame):
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        # a TIMESTAMP (with the session's UTC zone) would be collected in the Python process's zone
        self._frame = frame.select(
            *(
                F.col(f"`{field.name}`").cast("timestamp_ntz").alias(field.name)
                if isinstance(field.dataType, TimestampType)
                else F.col(f"`{field.name}`")
                for field in frame.schema.fields
            )
        )

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self._frame.collect()]

    def fetchone(self) -> tuple | None:
        rows = self._frame.limit(1).collect()
        return tuple(rows[0]) if rows else None

    def df(self) -> pd.DataFrame:
        frame = self._frame.toPandas()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[us]")
            elif frame[column].dtype == object and frame[column].map(type).eq(str).all():
                frame[column] = frame[column].astype("str")
        return frame

    @property
    def dataframe(self) -> DataFrame:
        return self._frame


class SparkConnection:
    """The Spark warehouse behind the part of DuckDB's connection interface churnguard reads with."""

    engine = "spark"

    def __init__(self, spark: SparkSession, location: str):
        from features.spark_warehouse import register_warehouse

        self.spark = spark
        self.location = location
        register_warehouse(spark, location)

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> SparkResult:
        from features.spark_sql import to_spark

        return SparkResult(self.spark.sql(to_spark(bind(sql, params))))

    def close(self) -> None:
        """Nothing to close: the session belongs to `features.spark_session`, not to a reader."""


def connect_warehouse(
    settings: Settings, read_only: bool = True
) -> duckdb.DuckDBPyConnection | SparkConnection:
    """The warehouse of `settings.engine`, for reading: DuckDB's file or the Spark warehouse."""
    if settings.engine == "duckdb":
        from features.warehouse import connect

        return connect(settings.warehouse_path, read_only=read_only)
    if not read_only:
        raise NoSparkFormError(
            "writing the Spark warehouse goes through `churnguard ingest`, not a connection"
        )
    from features.spark_session import get_spark
    from features.spark_warehouse import has_orders

    spark = get_spark(settings)
    location = settings.spark_warehouse_location
    if not has_orders(spark, location):
        raise FileNotFoundError(
            f"no Spark warehouse at {location} (no orders folder): run "
            "`CHURNGUARD_ENGINE=spark churnguard ingest DATA_DIR` first"
        )
    return SparkConnection(spark, location)
