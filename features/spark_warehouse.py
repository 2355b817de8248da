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
    fs, hadoop_path = _filesystem(spark, path)
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


def _filesystem(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def publish_from_duckdb(
    spark: SparkSession, con: duckdb.DuckDBPyConnection, location: str, run_id: str
) -> dict[str, int]:
    """Replace the Spark warehouse's contract tables with the DuckDB warehouse's, all or nothing:
    every table is written beside the warehouse first, then each is swapped in by a rename. A
    failure while writing leaves the Spark warehouse as it was. Returns rows per table."""
    jvm = spark.sparkContext._jvm
    incoming = f"{location.rstrip('/')}/_incoming/{run_id}"
    replaced = f"{location.rstrip('/')}/_replaced/{run_id}"
    rows = {}
    for table in INPUT_TABLES:
        result = con.execute(f"SELECT * FROM {table}")
        arrow = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.arrow()
        frame = spark.createDataFrame(arrow).select(*spark_schema(CONTRACT[table]).fieldNames())
        frame.write.mode("overwrite").parquet(table_location(incoming, table))
        rows[table] = arrow.num_rows
    fs, _ = _filesystem(spark, location)
    fs.mkdirs(jvm.org.apache.hadoop.fs.Path(replaced))
    for table in INPUT_TABLES:
        current = jvm.org.apache.hadoop.fs.Path(table_location(location, table))
        if fs.exists(current):
            fs.rename(current, jvm.org.apache.hadoop.fs.Path(table_location(replaced, table)))
        fs.rename(jvm.org.apache.hadoop.fs.Path(table_location(incoming, table)), current)
    fs.delete(jvm.org.apache.hadoop.fs.Path(f"{location.rstrip('/')}/_replaced"), True)
    fs.delete(jvm.org.apache.hadoop.fs.Path(f"{location.rstrip('/')}/_incoming"), True)
    return rows


def ingest_into_spark(data_dir, settings, progress=None, data_docs: bool = True):
    """`churnguard ingest` with the Spark engine: the contract's validation, quarantine and upserts
    run as on DuckDB (its GX suites, its staging warehouse in CHURNGUARD_HOME, read = loaded +
    quarantined), then the loaded tables replace the Spark warehouse's (`publish_from_duckdb`).
    Returns the ingest result and rows per published table."""
    from features.ingest import ingest
    from features.spark_session import get_spark
    from features.warehouse import connect

    result = ingest(data_dir, settings=settings, progress=progress, data_docs=data_docs)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        rows = publish_from_duckdb(
            get_spark(settings), con, settings.spark_warehouse_location, result.run_id
        )
    finally:
        con.close()
    return result, rows
