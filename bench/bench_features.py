"""Point-in-time snapshot: DuckDB SQL (features.snapshot) against plain pandas (bench.pandas_features).

Full scale is the synthetic shop at 1M customers (~9.4M orders with deliveries and feedback),
generated once into a cache under /tmp and loaded straight into a DuckDB warehouse file (the ingest
path is measured by its own benchmark). Each side runs in a fresh process that reads the data itself:
DuckDB from the warehouse file, pandas from the shop's Parquet files. Goal: >= 5x faster, peak < 4 GB.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.memory import run_measured

CACHE = Path(
    os.environ.get("CHURNGUARD_BENCH_CACHE", Path(tempfile.gettempdir()) / "churnguard_bench")
)
SCALES = {"small": 20_000, "full": 1_000_000}
SHOP_START, SHOP_END = date(2023, 1, 1), date(2025, 12, 31)
AS_OF = datetime(2025, 10, 1)  # the label window of a 90-day horizon still fits in the shop
TRAINING_CUTOFFS = 6

# The warehouse scores text sentiment at ingest; the bench loads Parquet directly, so it stands in a
# cheap score that follows the rating (the features only need a number in [-1, 1] where text exists).
SENTIMENT_STAND_IN = """
CASE WHEN text IS NULL THEN NULL ELSE
    least(1.0, greatest(-1.0, (coalesce(rating, 3) - 3) / 2.0 + ((hash(feedback_id) % 1000) / 1000.0 - 0.5) * 0.4))
END"""


def shop_dir(scale: str) -> Path:
    """The synthetic shop for `scale`, generated once into the cache."""
    from shopsim import ShopConfig, generate_shop

    path = CACHE / f"shop_{scale}"
    if not (path / "orders.parquet").exists():
        partial = CACHE / f"shop_{scale}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        config = ShopConfig(customers=SCALES[scale], seed=0, start=SHOP_START, end=SHOP_END)
        generate_shop(config, partial)
        shutil.rmtree(path, ignore_errors=True)
        partial.rename(path)
    return path


def warehouse_file(scale: str) -> Path:
    """A DuckDB warehouse holding the shop's tables, built once into the cache."""
    from features.warehouse import connect

    path = CACHE / f"warehouse_{scale}.duckdb"
    if path.exists():
        return path
    shop = shop_dir(scale)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = connect(partial)
    con.execute("SET enable_progress_bar = false")
    for table in ("orders", "deliveries"):
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet('{shop / (table + '.parquet')}')"
        )
    con.execute(
        f"INSERT INTO feedback BY NAME SELECT *, {SENTIMENT_STAND_IN} AS text_sentiment "
        f"FROM read_parquet('{shop / 'feedback.parquet'}')"
    )
    con.close()
    partial.rename(path)
    return path


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads): on a shared machine, where wall
    time depends on the neighbours, this says how much work each side did."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fingerprint(frame) -> dict[str, object]:
    from features.catalogue import FEATURE_NAMES

    values = frame[list(FEATURE_NAMES)].to_numpy(dtype="float64")
    return {
        "cpu_seconds": _cpu_seconds(),
        "rows": len(frame),
        "sums": np.nansum(values, axis=0).tolist(),
        "nans": np.isnan(values).sum(axis=0).tolist(),
    }


def duckdb_snapshot(path: str, as_of: datetime) -> dict[str, object]:
    from features.snapshot import build_snapshot
    from features.warehouse import connect

    con = connect(path, read_only=True)
    con.execute("SET enable_progress_bar = false")
    return _fingerprint(build_snapshot(con, as_of))


def pandas_snapshot(shop: str, as_of: datetime) -> dict[str, object]:
    import pandas as pd

    from bench.pandas_features import pandas_snapshot as snapshot

    orders = pd.read_parquet(Path(shop) / "orders.parquet")
    deliveries = pd.read_parquet(Path(shop) / "deliveries.parquet")
    feedback = pd.read_parquet(
        Path(shop) / "feedback.parquet",
        columns=["feedback_id", "customer_id", "created_at", "channel", "rating", "text"],
    )
    # the same stand-in sentiment as the warehouse, so both sides see identical inputs
    import duckdb

    feedback["text_sentiment"] = (
        duckdb.sql(f"SELECT {SENTIMENT_STAND_IN} AS s FROM feedback").df()["s"].to_numpy()
    )
    return _fingerprint(snapshot(orders, deliveries, feedback, as_of))


def duckdb_training_set(path: str, cutoffs: list[date]) -> dict[str, object]:
    """The training set streamed cutoff by cutoff into Parquet, as a 1M-customer shop should make it."""
    from features.io import write_training_set
    from features.snapshot import iter_training_set
    from features.warehouse import connect

    con = connect(path, read_only=True)
    con.execute("SET enable_progress_bar = false")
    out = CACHE / "training_set.parquet"
    _, rows = write_training_set(iter_training_set(con, cutoffs, horizon_days=90), out)
    out.unlink()
    return {"rows": rows}


def run(scale: str) -> dict[str, object]:
    CACHE.mkdir(parents=True, exist_ok=True)
    shop = shop_dir(scale)
    path = warehouse_file(scale)
    sql, sql_seconds, sql_peak = run_measured(duckdb_snapshot, str(path), AS_OF)
    plain, plain_seconds, plain_peak = run_measured(pandas_snapshot, str(shop), AS_OF)
    same = (
        sql["rows"] == plain["rows"]
        and sql["nans"] == plain["nans"]
        and np.allclose(sql["sums"], plain["sums"], rtol=1e-9)
    )
    cutoffs = [AS_OF.date() - timedelta(days=30 * k) for k in range(TRAINING_CUTOFFS)]
    training, training_seconds, training_peak = run_measured(
        duckdb_training_set, str(path), cutoffs
    )
    return {
        "customers": SCALES[scale],
        "active_customers_at_as_of": sql["rows"],
        "as_of": AS_OF.date().isoformat(),
        "duckdb_snapshot_seconds": round(sql_seconds, 2),
        "duckdb_peak_mib": round(sql_peak),
        "pandas_snapshot_seconds": round(plain_seconds, 2),
        "pandas_peak_mib": round(plain_peak),
        "speedup_vs_pandas": round(plain_seconds / sql_seconds, 1),
        "duckdb_cpu_seconds": round(sql["cpu_seconds"], 1),
        "pandas_cpu_seconds": round(plain["cpu_seconds"], 1),
        "cpu_ratio_pandas_vs_duckdb": round(plain["cpu_seconds"] / sql["cpu_seconds"], 1),
        "same_numbers_as_pandas": bool(same),
        "training_set_cutoffs": len(cutoffs),
        "training_set_rows": training["rows"],
        "training_set_seconds": round(training_seconds, 1),
        "training_set_peak_mib": round(training_peak),
        "goal": ">= 5x faster than pandas, peak < 4096 MiB",
    }
