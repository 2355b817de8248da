"""Smoke test on the synthetic small shop, loaded straight from its Parquet files (not through ingest)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench.pandas_features import pandas_snapshot
from features.catalogue import FEATURE_NAMES, FEATURES
from features.snapshot import build_snapshot, build_training_set
from features.warehouse import create_schema
from training.split import training_cutoffs

# ingest scores text sentiment; loading Parquet directly, a stand-in that follows the rating will do
SENTIMENT_STAND_IN = "CASE WHEN text IS NULL THEN NULL ELSE (coalesce(rating, 3) - 3) / 2.0 END"


def _load(shop: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_schema(con)
    for table in ("orders", "deliveries", "feedback"):
        path = shop / f"{table}.parquet"
        if path.exists():
            extra = f", {SENTIMENT_STAND_IN} AS text_sentiment" if table == "feedback" else ""
            con.execute(f"INSERT INTO {table} BY NAME SELECT *{extra} FROM read_parquet('{path}')")
    return con


@pytest.fixture(scope="module")
def shop_con(small_shop: Path) -> duckdb.DuckDBPyConnection:
    return _load(small_shop)


def test_training_set_over_the_shops_history(shop_con):
    cutoffs = training_cutoffs(shop_con, horizon_days=90, every_days=30)
    assert len(cutoffs) >= 12
    training = build_training_set(shop_con, cutoffs, horizon_days=90)
    assert list(training.columns) == ["customer_id", "cutoff", "churned", *FEATURE_NAMES]
    assert training.groupby("cutoff").size().min() > 20  # the shop grows from its opening day
    assert 0.05 < training["churned"].mean() < 0.95
    # every feature carries information somewhere in the shop's history
    assert not [n for n in FEATURE_NAMES if training[n].nunique(dropna=True) < 2]
    # a user would notice: those who leave have been away longer and order less often
    means = training.groupby("churned")[["days_since_last_order", "orders_per_day_365d"]].mean()
    assert means.loc[1, "days_since_last_order"] > means.loc[0, "days_since_last_order"]
    assert means.loc[1, "orders_per_day_365d"] < means.loc[0, "orders_per_day_365d"]


def test_duckdb_and_pandas_agree_on_the_shop(shop_con, small_shop):
    cutoff = datetime(2025, 1, 15)
    orders = shop_con.execute("SELECT * FROM orders").df()
    deliveries = shop_con.execute("SELECT * FROM deliveries").df()
    feedback = shop_con.execute("SELECT * FROM feedback").df()
    pd.testing.assert_frame_equal(
        build_snapshot(shop_con, cutoff),
        pandas_snapshot(orders, deliveries, feedback, cutoff),
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
    )


def test_orders_only_shop(orders_only_shop, shop_con):
    con = _load(orders_only_shop)
    cutoff = datetime(2025, 1, 15)
    alone = build_snapshot(con, cutoff)
    full = build_snapshot(shop_con, cutoff)
    assert len(alone) == len(full) > 100
    from_elsewhere = [f.name for f in FEATURES if not f.source.startswith("orders")]
    assert alone[from_elsewhere].isna().all().all()
    assert alone["days_since_last_order"].equals(full["days_since_last_order"])
