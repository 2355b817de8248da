"""Helpers for the DuckDB-vs-Spark parity tests: feed one warehouse to both engines, compare frames."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.catalogue import FEATURE_NAMES, FEATURES
from features.spark_warehouse import copy_from_duckdb, register_warehouse

# Counts must match exactly; every other feature to 1e-9 relative; NULLs in the same places.
COUNT_FEATURES = frozenset(f.name for f in FEATURES if f.sql.startswith(("count(", "count_if(")))


def serve_to_spark(con: duckdb.DuckDBPyConnection, spark, folder: Path) -> None:
    """Copy a DuckDB warehouse's tables into a Parquet warehouse and register it in the session."""
    copy_from_duckdb(con, str(folder))
    register_warehouse(spark, str(folder))


def feature_mismatches(duck: pd.DataFrame, spark: pd.DataFrame, keys: list[str]) -> list[str]:
    """One line per feature (or label) that differs between the engines, naming it; [] when equal."""
    problems = []
    missing = [name for name in FEATURE_NAMES if name not in spark.columns]
    if missing:
        problems.append(f"no Spark column for catalogue features {missing}")
    duck = duck.sort_values(keys).reset_index(drop=True)
    spark = spark.sort_values(keys).reset_index(drop=True)
    if not duck[keys].equals(spark[keys]):
        return [*problems, f"different rows: DuckDB {len(duck)}, Spark {len(spark)}"]
    for name in [c for c in duck.columns if c not in keys and c in spark.columns]:
        a, b = duck[name].to_numpy(dtype=float), spark[name].to_numpy(dtype=float)
        nulls = np.isnan(a) != np.isnan(b)
        if nulls.any():
            problems.append(f"{name}: NULL on one engine only for {int(nulls.sum())} rows")
            continue
        both = ~np.isnan(a)
        if name in COUNT_FEATURES or name == "churned":
            wrong = both & (a != b)
        else:
            wrong = both & ~np.isclose(a, b, rtol=1e-9, atol=0.0)
        if wrong.any():
            row = int(np.flatnonzero(wrong)[0])
            problems.append(
                f"{name}: {int(wrong.sum())} rows differ, e.g. {duck.loc[row, keys].to_dict()}: "
                f"DuckDB {a[row]!r}, Spark {b[row]!r}"
            )
    return problems
