"""One catalogue, two engines: every feature of every customer, and every label, equal on DuckDB and
Spark at several cutoffs (counts exact, floats to 1e-9 relative, the same NULLs); the leakage
property holds on Spark; a catalogue feature without a Spark form fails by name.

Each shop is one Spark job over all its cutoffs: Spark's per-query cost, not the data, sets the time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import spark_snapshot
from features.catalogue import FEATURES_BY_NAME
from features.snapshot import build_snapshot, build_training_set, features_sql
from features.warehouse import create_schema
from tests.features.hand_shop import AS_OF, hand_deliveries, hand_feedback, hand_orders
from tests.features.pit_shops import as_it_looked, at_day, random_shop, warehouse
from tests.features.spark_parity import feature_mismatches, serve_to_spark
from tests.features.test_snapshot_small_shop import SENTIMENT_STAND_IN

pytestmark = pytest.mark.slow
KEYS = ["customer_id", "cutoff"]


def _load(shop: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_schema(con)
    for table in ("orders", "deliveries", "feedback"):
        path = shop / f"{table}.parquet"
        if path.exists():
            extra = f", {SENTIMENT_STAND_IN} AS text_sentiment" if table == "feedback" else ""
            con.execute(f"INSERT INTO {table} BY NAME SELECT *{extra} FROM read_parquet('{path}')")
    return con


def _training_sets_agree(con, spark, folder: Path, cutoffs: list[datetime]) -> pd.DataFrame:
    serve_to_spark(con, spark, folder)
    duck = build_training_set(con, cutoffs, horizon_days=90, cutoffs_per_query=len(cutoffs))
    on_spark = spark_snapshot.build_training_set(spark, cutoffs, horizon_days=90)
    assert list(on_spark.columns) == list(duck.columns)
    assert feature_mismatches(duck, on_spark, KEYS) == []
    return duck


# midnights and a mid-afternoon cutoff, early (short histories) to late in the shop's life
SHOP_CUTOFFS = [
    datetime(2023, 6, 1),
    datetime(2024, 2, 15, 13, 30),
    datetime(2024, 9, 1),
    datetime(2025, 3, 1),
]


def test_full_shop_features_and_labels_equal(small_shop, spark, tmp_path):
    frame = _training_sets_agree(_load(small_shop), spark, tmp_path, SHOP_CUTOFFS)
    assert frame["cutoff"].nunique() == len(SHOP_CUTOFFS)
    assert 0 < frame["churned"].mean() < 1
    assert frame["late_deliveries_365d"].gt(0).any() and frame["mean_rating_365d"].notna().any()


def test_orders_only_shop_features_and_labels_equal(orders_only_shop, spark, tmp_path):
    frame = _training_sets_agree(_load(orders_only_shop), spark, tmp_path, SHOP_CUTOFFS)
    assert frame["late_deliveries_365d"].isna().all()  # NaN for everyone on both engines


def test_hand_checked_shop_equal(spark, tmp_path):
    con = warehouse(hand_orders(), hand_deliveries(), hand_feedback())
    cutoffs = [AS_OF - timedelta(days=60), AS_OF - timedelta(hours=12), AS_OF]
    frame = _training_sets_agree(con, spark, tmp_path, cutoffs)
    at = frame[frame["cutoff"] == AS_OF].set_index("customer_id")
    assert set(at.index) == {"ann", "bob", "dan"}  # cat is not active
    assert at.loc["bob", "churned"] == 1 and at.loc["ann", "churned"] == 0


@pytest.mark.parametrize("seed", [3, 11])
def test_random_shops_equal(seed, spark, tmp_path):
    """Small shops with every kind of event, sometimes without deliveries or feedback at all."""
    con = warehouse(*random_shop(seed))
    cutoffs = [at_day(60), at_day(250, 13), at_day(400), at_day(560, 7)]
    serve_to_spark(con, spark, tmp_path)
    duck = pd.concat([build_snapshot(con, c) for c in cutoffs], ignore_index=True)
    on_spark = spark_snapshot.to_frame(spark_snapshot.features_dataframe(spark, cutoffs))
    assert feature_mismatches(duck, on_spark, ["customer_id", "as_of"]) == []


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    day=st.integers(20, 760),
    hour=st.sampled_from([0, 0, 7, 13]),
    lookback=st.sampled_from([90, 365, 730]),
)
def test_spark_uses_only_what_was_known_at_the_cutoff(
    seed, day, hour, lookback, spark, tmp_path_factory
):
    """The leakage property of tests/features/test_snapshot_leakage.py, on Spark."""
    orders, deliveries, feedback = random_shop(seed)
    cutoff = at_day(day, hour)
    frames = []
    for name, tables in (
        ("full", (orders, deliveries, feedback)),
        ("then", as_it_looked(orders, deliveries, feedback, cutoff)),
    ):
        serve_to_spark(warehouse(*tables), spark, tmp_path_factory.mktemp(f"leakage-{name}"))
        frames.append(spark_snapshot.build_snapshot(spark, cutoff, lookback_days=lookback))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=False, rtol=1e-12)


def test_every_catalogue_feature_has_a_spark_form(spark):
    assert spark_snapshot.features_without_spark_form(spark) == {}


def test_a_feature_without_a_spark_form_is_named(spark):
    """What #14 would see adding a feature Spark cannot compute: the test names it."""
    duckdb_only = replace(
        FEATURES_BY_NAME["orders_total"],
        name="distinct_order_days",
        sql="len(list_distinct(list(ordered_at::DATE)))",  # DuckDB list functions: no Spark form
    )
    fine = FEATURES_BY_NAME["days_since_last_order"]
    problems = spark_snapshot.features_without_spark_form(spark, [duckdb_only, fine])
    assert list(problems) == ["distinct_order_days"]
    assert problems["distinct_order_days"]


def test_the_statement_spark_runs_is_the_catalogues():
    """No second definition: the Spark statement is derived from features_sql, feature by feature."""
    from features.spark_sql import to_spark

    spark_sql = to_spark(features_sql([AS_OF], 365, 90))
    for name in FEATURES_BY_NAME:
        assert f"AS {name}" in spark_sql
