"""The synthetic shop: files in the contract, deterministic, and dynamics a churn model can learn from."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from common.names import CUSTOMERS, DELIVERIES, FEEDBACK, INPUT_TABLES, ORDERS
from features.contract import CONTRACT
from shopsim import (
    Incident,
    ShopConfig,
    generate_shop,
    read_truth,
    simulate,
    summarize_shop,
    true_churn_probability,
)

KIND_CHECKS = {
    "string": pd.api.types.is_string_dtype,
    "category": pd.api.types.is_string_dtype,
    "timestamp": lambda s: str(s.dtype) == "datetime64[us]",
    "number": pd.api.types.is_float_dtype,
    # pandas reads a nullable integer column with gaps as float; the Parquet type is checked below
    "integer": lambda s: pd.api.types.is_integer_dtype(s) or pd.api.types.is_float_dtype(s),
    "boolean": pd.api.types.is_bool_dtype,
}
HORIZON = pd.Timedelta(days=90)


def read(shop: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(shop / f"{table}.parquet")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough for the dynamics to show (4,000 customers, three years), small enough to be quick."""
    out = tmp_path_factory.mktemp("shop_4k")
    generate_shop(ShopConfig(customers=4_000, seed=11), out)
    return out


@pytest.fixture(scope="module")
def orders_with_deliveries(shop: Path) -> pd.DataFrame:
    orders = read(shop, ORDERS)
    deliveries = read(shop, DELIVERIES).rename(columns={"status": "delivery_status"})
    merged = orders.merge(deliveries, on="order_id", how="left")
    merged["late_or_failed"] = (merged["delivery_status"] == "failed") | (
        merged["delivered_at"] > merged["promised_at"]
    )
    return merged


def churned_after(orders: pd.DataFrame, cutoff: pd.Timestamp, customers: pd.Series) -> pd.Series:
    """True for each customer with no order in [cutoff, cutoff + 90 days)."""
    window = orders[(orders["ordered_at"] >= cutoff) & (orders["ordered_at"] < cutoff + HORIZON)]
    return ~customers.isin(set(window["customer_id"]))


def cutoffs() -> pd.DatetimeIndex:
    return pd.date_range("2023-10-01", "2025-07-01", freq="QS")


# --- the files ---------------------------------------------------------------------------------


def test_small_shop_tables_follow_the_contract(small_shop: Path) -> None:
    import pyarrow.parquet as pq

    for name in INPUT_TABLES:
        frame = read(small_shop, name)
        contract = CONTRACT[name]
        assert list(frame.columns) == list(contract.column_names), name
        for column in contract.columns:
            values = frame[column.name]
            assert KIND_CHECKS[column.kind](values), f"{name}.{column.name} is {values.dtype}"
            if not column.nullable:
                assert values.notna().all(), f"{name}.{column.name} has empty values"
            if column.allowed:
                assert set(values.dropna()) <= set(column.allowed), f"{name}.{column.name}"
        assert frame[contract.key].is_unique, f"{name}.{contract.key} repeats"
    rating_type = pq.read_schema(small_shop / f"{FEEDBACK}.parquet").field("rating").type
    assert str(rating_type) == "int32"
    assert len(read(small_shop, ORDERS)) > 2_000


def test_ids_and_references_hold_together(small_shop: Path) -> None:
    customers, orders = read(small_shop, CUSTOMERS), read(small_shop, ORDERS)
    deliveries, feedback = read(small_shop, DELIVERIES), read(small_shop, FEEDBACK)
    assert customers["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert orders["order_id"].str.fullmatch(r"O\d{8}").all()
    assert feedback["feedback_id"].str.fullmatch(r"F\d{8}").all()
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    assert set(deliveries["order_id"]) <= set(orders["order_id"])
    assert set(feedback["order_id"].dropna()) <= set(orders["order_id"])
    assert set(feedback["customer_id"]) <= set(customers["customer_id"])
    first_order = orders.groupby("customer_id")["ordered_at"].min()
    signup = customers.set_index("customer_id")["signup_at"]
    assert (first_order >= signup.loc[first_order.index]).all()


def test_deliveries_and_orders_tell_one_story(small_shop: Path) -> None:
    orders = read(small_shop, ORDERS).set_index("order_id")
    deliveries = read(small_shop, DELIVERIES).set_index("order_id")
    ordered_at = orders.loc[deliveries.index, "ordered_at"]
    assert (deliveries["promised_at"] > ordered_at).all()
    arrived = deliveries["delivered_at"].notna()
    assert (deliveries.loc[arrived, "delivered_at"] >= ordered_at[arrived]).all()
    assert set(deliveries.loc[arrived, "status"]) <= {"delivered", "returned"}
    assert set(deliveries.loc[~arrived, "status"]) <= {"in_transit", "failed"}

    order_status = orders.loc[deliveries.index, "status"]
    expected = {
        "delivered": {"delivered"},
        "returned": {"returned"},
        "failed": {"cancelled"},
        "in_transit": {"placed", "shipped"},
    }
    for delivery_status, allowed in expected.items():
        assert set(order_status[deliveries["status"] == delivery_status]) <= allowed, (
            delivery_status
        )
    without_delivery = orders.index.difference(deliveries.index)
    assert (orders.loc[without_delivery, "status"] == "cancelled").all()
    assert 0.01 < (orders["status"] == "cancelled").mean() < 0.08

    end = pd.Timestamp("2025-07-01")
    in_transit = deliveries["status"] == "in_transit"
    assert in_transit.any()
    assert (ordered_at[in_transit] > end - pd.Timedelta(days=30)).all()
    assert (deliveries["status"] == "failed").any() and (deliveries["status"] == "returned").any()


def test_feedback_has_a_rating_or_a_text_and_the_text_matches_the_rating(small_shop: Path) -> None:
    feedback = read(small_shop, FEEDBACK)
    assert (feedback["rating"].notna() | feedback["text"].notna()).all()
    assert feedback["rating"].dropna().between(1, 5).all()
    assert (feedback["rating"].notna() & feedback["text"].isna()).any()
    assert (feedback["rating"].isna() & feedback["text"].notna()).any()
    assert feedback["order_id"].isna().any()
    vader = SentimentIntensityAnalyzer()
    rated = feedback.dropna(subset=["rating", "text"])
    sentiment = rated["text"].map(lambda text: vader.polarity_scores(text)["compound"])
    tone = sentiment.groupby(pd.cut(rated["rating"], [0, 2, 3, 5], labels=["low", "mid", "high"]))
    by_tone = tone.mean()
    assert by_tone["low"] < -0.3 < by_tone["mid"] < 0.5 < by_tone["high"]


def test_orders_only_shop_holds_just_orders(orders_only_shop: Path, small_shop: Path) -> None:
    assert [p.name for p in orders_only_shop.iterdir()] == ["orders.parquet"]
    assert (orders_only_shop / "orders.parquet").read_bytes() == (
        small_shop / "orders.parquet"
    ).read_bytes()


def test_same_seed_same_bytes_other_seed_other_shop(tmp_path: Path) -> None:
    config = ShopConfig(customers=600, seed=5, start=date(2024, 1, 1), end=date(2025, 3, 31))
    first, second = generate_shop(config, tmp_path / "a"), generate_shop(config, tmp_path / "b")
    assert first.files.keys() == second.files.keys()
    for name, path in first.files.items():
        assert path.read_bytes() == second.files[name].read_bytes(), name
    other = generate_shop(
        ShopConfig(customers=600, seed=6, start=date(2024, 1, 1), end=date(2025, 3, 31)),
        tmp_path / "c",
    )
    for name in (ORDERS, FEEDBACK, "truth"):
        assert other.files[name].read_bytes() != first.files[name].read_bytes(), name


def test_summary_says_what_was_written(tmp_path: Path) -> None:
    summary = generate_shop(ShopConfig(customers=300, seed=1), tmp_path)
    text = summarize_shop(summary)
    assert f"{summary.orders:,} orders" in text and str(tmp_path) in text
    assert summary.orders == len(read(tmp_path, ORDERS))
    assert summary.feedback == len(read(tmp_path, FEEDBACK))
    assert 0 < summary.silent_dropouts < summary.dropped_out


def test_config_rejects_truth_dates_whose_horizon_does_not_fit() -> None:
    with pytest.raises(ValueError, match=re.escape("2025-12-01")):
        ShopConfig(truth_as_of=(date(2025, 12, 1),)).resolved_truth_as_of()
    assert ShopConfig().resolved_truth_as_of()[0] == date(2023, 4, 1)
    assert ShopConfig().resolved_truth_as_of()[-1] == date(2025, 10, 1)


# --- the dynamics ------------------------------------------------------------------------------


def test_customers_join_over_time_and_more_later(shop: Path) -> None:
    signup = read(shop, CUSTOMERS)["signup_at"]
    first_year = (signup < pd.Timestamp("2024-01-01")).sum()
    last_year = (signup >= pd.Timestamp("2025-01-01")).sum()
    assert 0 < first_year < last_year


def test_late_or_failed_deliveries_and_low_ratings_are_followed_by_more_churn(
    shop: Path, orders_with_deliveries: pd.DataFrame
) -> None:
    feedback = read(shop, FEEDBACK)
    bad_group, good_group, low_group, high_group = [], [], [], []
    for cutoff in cutoffs():
        past = orders_with_deliveries[orders_with_deliveries["ordered_at"] < cutoff]
        active = past.loc[past["ordered_at"] >= cutoff - pd.Timedelta(days=365), "customer_id"]
        active = pd.Series(active.unique())
        churned = churned_after(orders_with_deliveries, cutoff, active)
        recent = past[past["promised_at"].between(cutoff - pd.Timedelta(days=60), cutoff)]
        bad = set(recent.loc[recent["late_or_failed"], "customer_id"])
        fine = set(recent["customer_id"]) - bad
        bad_group.append(churned[active.isin(bad)])
        good_group.append(churned[active.isin(fine)])
        ratings = feedback[
            feedback["created_at"].between(cutoff - HORIZON, cutoff) & feedback["rating"].notna()
        ]
        low = set(ratings.loc[ratings["rating"] <= 2, "customer_id"])
        high = set(ratings.loc[ratings["rating"] >= 4, "customer_id"]) - low
        low_group.append(churned[active.isin(low)])
        high_group.append(churned[active.isin(high)])
    bad_rate, good_rate = pd.concat(bad_group).mean(), pd.concat(good_group).mean()
    low_rate, high_rate = pd.concat(low_group).mean(), pd.concat(high_group).mean()
    assert bad_rate > good_rate * 1.4, (bad_rate, good_rate)
    assert low_rate > high_rate * 1.6, (low_rate, high_rate)


def test_the_incident_region_has_many_more_late_deliveries_during_the_incident(
    shop: Path, orders_with_deliveries: pd.DataFrame
) -> None:
    (incident,) = ShopConfig(customers=4_000, seed=11).resolved_incidents()
    region = read(shop, CUSTOMERS).set_index("customer_id")["region"]
    orders = orders_with_deliveries.dropna(subset=["delivery_status"])
    orders = orders[orders["delivery_status"] != "in_transit"]
    in_region = orders["customer_id"].map(region) == incident.region
    during = orders["ordered_at"].between(
        pd.Timestamp(incident.start), pd.Timestamp(incident.end), inclusive="left"
    )
    late = orders["late_or_failed"]
    assert late[in_region & during].mean() > 3 * late[in_region & ~during].mean()
    assert late[in_region & during].mean() > 3 * late[~in_region & during].mean()


def test_an_incident_can_be_placed_anywhere(tmp_path: Path) -> None:
    incident = Incident("capital", date(2024, 3, 1), date(2024, 4, 1), late_probability=0.9)
    config = ShopConfig(customers=800, seed=2, end=date(2024, 12, 31), incidents=(incident,))
    generate_shop(config, tmp_path)
    orders = read(tmp_path, ORDERS).merge(read(tmp_path, DELIVERIES), on="order_id")
    orders = orders[orders["status_y"].isin(["delivered", "returned"])]
    region = read(tmp_path, CUSTOMERS).set_index("customer_id")["region"]
    hit = (orders["customer_id"].map(region) == "capital") & orders["ordered_at"].between(
        "2024-03-01", "2024-04-01", inclusive="left"
    )
    late = orders["delivered_at"] > orders["promised_at"]
    assert late[hit].mean() > 0.8 > 0.2 > late[~hit].mean()


def test_dropout_is_the_main_reason_for_a_quiet_horizon_and_some_customers_are_just_slow() -> None:
    config = ShopConfig(customers=3_000, seed=4)
    sim = simulate(config)
    truth = sim.truth
    gone_by_horizon_end = (
        sim.dropout_day[truth.customer] < truth.as_of_day + config.truth_horizon_days
    )
    quiet = truth.churned
    assert gone_by_horizon_end[quiet].mean() > 0.6
    assert (~gone_by_horizon_end[quiet]).sum() > 100


# --- the ground truth ----------------------------------------------------------------------------


def test_truth_is_calibrated_and_ranks_the_customers_who_then_churned(shop: Path) -> None:
    truth = read_truth(shop)
    orders = read(shop, ORDERS)
    assert list(truth.columns)[:4] == ["customer_id", "as_of", "horizon_days", "churn_probability"]
    assert truth["churn_probability"].between(0, 1).all()
    assert (truth["horizon_days"] == 90).all()
    labels = []
    for as_of, rows in truth.groupby("as_of"):
        last_year = orders[orders["ordered_at"].between(as_of - pd.Timedelta(days=365), as_of)]
        assert set(rows["customer_id"]) == set(last_year["customer_id"]), as_of
        labels.append(churned_after(orders, as_of, rows["customer_id"]))
    churned = pd.concat(labels).loc[truth.index]
    assert roc_auc_score(churned, truth["churn_probability"]) > 0.85
    assert abs(churned.mean() - truth["churn_probability"].mean()) < 0.02


def test_true_churn_probability_matches_the_closed_form_of_constant_rates() -> None:
    rate, hazard, days = np.array([0.05, 0.02, 0.0]), np.array([0.0, 0.01, 0.01]), 90.0
    steps = np.full(9, days / 9)
    probability = true_churn_probability(
        np.repeat(rate[:, None], 9, axis=1), np.repeat(hazard[:, None], 9, axis=1), steps
    )
    total = rate + hazard
    stay = np.exp(-total * days)
    expected = hazard / total * (1 - stay) + stay
    np.testing.assert_allclose(probability, expected)
    assert probability[0] == pytest.approx(np.exp(-4.5))
    assert probability[2] == pytest.approx(1.0)
