"""The warehouse on Spark: one Parquet folder per contract table under a location (a local folder or
a cluster URI), registered in the session's built-in catalog as the names the catalogue's SQL reads.

The columns and types are the DuckDB warehouse's (`features.contract`); timestamps are naive UTC
(TIMESTAMP_NTZ). No Delta or other table format: nothing fetches jars, any Spark reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.names import INPUT_TABLES
from features.contract import CONTRACT, Column, TableContract

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

LINEAGE_COLUMNS = (
    ("_ingest_run_id", "string"),
    ("_source_file", "string"),
    ("_source_line", "long"),
)


def _spark_type(kind: str) -> DataType:
    from pyspark.sql import types as T

    return {
        "string": T.StringType(),
        "category": T.StringType(),
        "timestamp": T.TimestampNTZType(),
        "number": T.DoubleType(),
        "integer": T.IntegerType(),
        "boolean": T.BooleanType(),
        "long": T.LongType(),
    }[kind]


def spark_schema(table: TableContract) -> StructType:
    """The warehouse columns of a contract table as Spark types (the DuckDB DDL's, one for one)."""
    from pyspark.sql import types as T

    columns: list[Column] = [*table.columns, *table.derived_columns]
    fields = [T.StructField(c.name, _spark_type(c.kind), True) for c in columns]
    fields += [T.StructField(name, _spark_type(kind), True) for name, kind in LINEAGE_COLUMNS]
    return T.StructType(fields)


def table_location(location: str, table: str) -> str:
    return f"{location.rstrip('/')}/{table}"


def _exists(spark: SparkSession, path: str) -> bool:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(hadoop_path))


def read_table(spark: SparkSession, location: str, table: str) -> DataFrame:
    """A contract table of the warehouse; a table the shop never gave is empty, with its columns."""
    schema = spark_schema(CONTRACT[table])
    path = table_location(location, table)
    if not _exists(spark, path):
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(path)


def register_warehouse(spark: SparkSession, location: str) -> None:
    """Name every contract table in the session's catalog, so the catalogue's SQL reads them."""
    for table in INPUT_TABLES:
        read_table(spark, location, table).createOrReplaceTempView(table)


def has_orders(spark: SparkSession, location: str) -> bool:
    return _exists(spark, table_location(location, "orders"))


def copy_from_duckdb(con: duckdb.DuckDBPyConnection, location: str) -> None:
    """Write a DuckDB warehouse's contract tables as the Spark warehouse's Parquet folders (a local
    location): the move from one machine to a cluster, and how the parity tests feed both engines."""
    from pathlib import Path

    for table in INPUT_TABLES:
        folder = Path(table_location(location, table))
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY {table} TO '{folder / 'part-00000.parquet'}' (FORMAT parquet)")
