"""Every construct whose meaning differs between DuckDB and Spark, pinned: what the transpiler writes,
and (on a real Spark session) that both engines give the same answer on edge-case rows."""

from __future__ import annotations

import duckdb
import pytest

from features.spark_sql import expression_to_spark, to_spark


@pytest.mark.parametrize(
    ("duckdb_sql", "spark_sql"),
    [
        # second boundaries (DuckDB) vs whole elapsed seconds (Spark's datediff): both count boundaries
        (
            "date_diff('second', a, b)",
            "(UNIX_SECONDS(CAST(b AS TIMESTAMP)) - UNIX_SECONDS(CAST(a AS TIMESTAMP)))",
        ),
        ("date_diff('day', a::DATE, b::DATE)", "DATEDIFF(DAY, CAST(a AS DATE), CAST(b AS DATE))"),
        # a decimal literal divides as DOUBLE in DuckDB, as DECIMAL(.., 6) in Spark
        ("x / 86400.0", "x / CAST(86400.0 AS DOUBLE)"),
        ("x <= -0.3", "x <= -CAST(0.3 AS DOUBLE)"),
        ("n / 3", "n / 3"),  # `/` is true division on both
        # DuckDB's arg_max skips NULL values; Spark's max_by would return them; in a struct key
        # DuckDB ranks a NULL field above every value, Spark below
        ("arg_max(x, k)", "MAX_BY(x, CASE WHEN NOT x IS NULL THEN k END)"),
        ("arg_max_null(x, k)", "MAX_BY(x, k)"),
        (
            "arg_max(x, {'at': a, 'id': i})",
            "MAX_BY(x, CASE WHEN NOT x IS NULL THEN STRUCT(a IS NULL AS at_is_null, a AS at, "
            "i IS NULL AS id_is_null, i AS id) END)",
        ),
        ("epoch_us(a)::HUGEINT", "CAST(UNIX_MICROS(CAST(a AS TIMESTAMP)) AS DECIMAL(38, 0))"),
        # count_if over rows where the condition is always NULL: NULL on DuckDB, 0 on Spark
        ("count_if(x > 1)", "SUM(CASE WHEN x > 1 THEN 1 WHEN NOT x > 1 THEN 0 END)"),
        ("sum(x) FILTER (WHERE n > 1)", "SUM(x) FILTER(WHERE n > 1)"),
        ("a + INTERVAL 7 DAY", "a + INTERVAL '7' DAY"),
        ("date_trunc('day', a)", "DATE_TRUNC('DAY', a)"),
        ("median(x)", "MEDIAN(x)"),
    ],
)
def test_transpiled_form(duckdb_sql, spark_sql):
    assert expression_to_spark(duckdb_sql) == spark_sql


def test_null_ordering_is_spelled_out():
    """DuckDB sorts NULLs last by default, Spark first: the Spark statement says NULLS LAST."""
    assert "ORDER BY k NULLS LAST" in to_spark("SELECT k FROM t ORDER BY k")
    assert "ORDER BY a NULLS LAST) AS g" in to_spark(
        "SELECT lag(a) OVER (PARTITION BY k ORDER BY a) AS g FROM t"
    )


EVENTS = """
SELECT * FROM (VALUES
    ('c1', TIMESTAMP '2024-01-01 00:00:00.900', TIMESTAMP '2024-01-02 00:00:00.100', 1.5::DOUBLE, 1, 'o1'),
    ('c1', TIMESTAMP '2024-01-05 12:00:00', TIMESTAMP '2024-01-05 12:00:01', NULL::DOUBLE, 2, 'o2'),
    ('c1', TIMESTAMP '2024-02-29 23:59:59.999', TIMESTAMP '2024-03-01 00:00:00', 4.25::DOUBLE, 3, 'o3'),
    ('c2', TIMESTAMP '2024-03-10 08:00:00', TIMESTAMP '2024-03-10 07:00:00', 2.0::DOUBLE, 7, 'o4'),
    ('c2', NULL, TIMESTAMP '2024-03-11 00:00:00', 3.0::DOUBLE, 8, 'o5'),
    ('c3', TIMESTAMP '2024-03-12 00:00:00', NULL, NULL, 5, 'o6')
) AS v(k, a, b, x, n, i)
"""
AGGREGATES = f"""
WITH events AS ({EVENTS})
SELECT k,
    sum(date_diff('second', a, b)) AS seconds,
    sum(date_diff('second', a, b) / 86400.0) AS days,
    sum(date_diff('day', a::DATE, b::DATE)) AS calendar_days,
    sum(n / 3) AS true_division,
    count_if(x > 1) AS counted,
    coalesce(sum(x) FILTER (WHERE n > 1), 0) AS filtered,
    count_if(a + INTERVAL 30 DAY < TIMESTAMP '2024-03-01') AS interval_arithmetic,
    max(date_trunc('day', a)) AS truncated,
    arg_max(x, {{'at': a, 'id': i}}) AS latest_known_x,
    arg_max_null(x, epoch_us(a)::HUGEINT * 1000000 + n) AS latest_x,
    median(x) AS median_x
FROM events
GROUP BY k
ORDER BY k
"""
WINDOWS = f"""
WITH events AS ({EVENTS})
SELECT k, i, date_diff('second', lag(a) OVER (PARTITION BY k ORDER BY a), a) AS gap
FROM events
QUALIFY row_number() OVER (PARTITION BY k ORDER BY a DESC) <= 2
ORDER BY a, i
"""


def _same_rows(duck_rows, spark_rows):
    assert len(duck_rows) == len(spark_rows)
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        for d, s in zip(duck_row, spark_row, strict=True):
            if d is None or s is None:
                assert d is None and s is None, (duck_row, spark_row)
            elif isinstance(d, float):
                assert s == pytest.approx(d, rel=1e-12), (duck_row, spark_row)
            elif isinstance(d, int):
                assert int(s) == d, (duck_row, spark_row)
            else:  # strings; timestamps (naive UTC on both: the sessions run in UTC)
                assert s == d, (duck_row, spark_row)


@pytest.mark.slow
@pytest.mark.parametrize("statement", [AGGREGATES, WINDOWS], ids=["aggregates", "windows"])
def test_both_engines_agree_on_edge_cases(statement, spark):
    """Sub-second times, NULL values and keys, leap days, rows out of order: the same answers."""
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck_rows = duck.execute(statement).fetchall()
    spark_rows = [tuple(row) for row in spark.sql(to_spark(statement)).collect()]
    _same_rows(duck_rows, spark_rows)
