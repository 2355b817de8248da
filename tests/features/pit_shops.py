"""Helpers for the point-in-time tests: random small shops and the shop "as it looked" at a time T."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from features.catalogue import CANCELLATION_KNOWN_DAYS, FAILURE_KNOWN_DAYS, RETURN_KNOWN_DAYS
from features.warehouse import create_schema

BASE = datetime(2024, 1, 1)
ORDER_STATUSES = np.array(
    ["placed", "shipped", "delivered", "cancelled", "returned", None], dtype=object
)
CHANNELS = np.array(["review", "ticket", "survey", "chat", "social", None], dtype=object)


def warehouse(
    orders: pd.DataFrame,
    deliveries: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the contract tables, holding the given frames."""
    con = duckdb.connect()
    create_schema(con)
    for table, frame in (("orders", orders), ("deliveries", deliveries), ("feedback", feedback)):
        if frame is not None and len(frame):
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
            con.unregister("frame")
    return con


def _moments(rng: np.random.Generator, days: np.ndarray) -> pd.Series:
    """Whole days most of the time (so events often fall exactly on a cutoff), sometimes with hours."""
    hours = np.where(rng.random(len(days)) < 0.7, 0, rng.integers(0, 24, len(days)))
    return pd.Series(pd.Timestamp(BASE) + pd.to_timedelta(days * 24 + hours, unit="h"))


def random_shop(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A small shop with every kind of event: late, failed, returned, cancelled, undelivered, feedback."""
    rng = np.random.default_rng(seed)
    n_customers = int(rng.integers(1, 9))
    per_customer = rng.integers(1, 9, n_customers)
    customer = np.repeat([f"c{i}" for i in range(n_customers)], per_customer)
    n = len(customer)
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i:03d}" for i in range(n)],
            "customer_id": customer,
            "ordered_at": _moments(rng, rng.integers(0, 700, n)),
            "amount": np.round(rng.uniform(0, 200, n), 2),
            "status": rng.choice(ORDER_STATUSES, n),
        }
    )
    has_delivery = rng.random(n) < 0.85
    if rng.random() < 0.15:
        has_delivery[:] = False  # a shop without deliveries
    shipped = orders[has_delivery]
    m = len(shipped)
    promised = shipped["ordered_at"].to_numpy() + pd.to_timedelta(
        rng.integers(1, 10, m) * 24 + np.where(rng.random(m) < 0.7, 0, rng.integers(0, 24, m)), "h"
    )
    delivered = promised + pd.to_timedelta(rng.integers(-3, 12, m) * 24, "h")
    undelivered = rng.random(m) < 0.25
    status = np.where(
        undelivered,
        rng.choice(np.array(["in_transit", "failed", "returned"], dtype=object), m),
        rng.choice(np.array(["delivered", "delivered", "returned", None], dtype=object), m),
    )
    deliveries = pd.DataFrame(
        {
            "order_id": shipped["order_id"].to_numpy(),
            "promised_at": promised,
            "delivered_at": pd.Series(delivered).where(~undelivered),
            "status": status,
        }
    )
    k = 0 if rng.random() < 0.15 else int(rng.integers(0, 25))
    feedback = pd.DataFrame(
        {
            "feedback_id": [f"f{i:03d}" for i in range(k)],
            "customer_id": rng.choice(orders["customer_id"].unique(), k),
            "order_id": rng.choice(orders["order_id"].to_numpy(), k),
            "created_at": _moments(rng, rng.integers(0, 720, k)),
            "channel": rng.choice(CHANNELS, k),
            "rating": pd.array(
                np.where(rng.random(k) < 0.6, rng.integers(1, 6, k), -1), dtype="Int32"
            ),
            "text": None,
            "text_sentiment": np.where(
                rng.random(k) < 0.7, np.round(rng.uniform(-1, 1, k), 3), np.nan
            ),
        }
    )
    feedback["rating"] = feedback["rating"].mask(feedback["rating"] < 0)
    return orders, deliveries, feedback


def as_it_looked(
    orders: pd.DataFrame, deliveries: pd.DataFrame, feedback: pd.DataFrame, at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The shop's tables as a warehouse loaded at `at` would have held them: later orders and feedback
    absent, later arrivals not yet delivered, and statuses decided later not yet set."""
    cancel_known = pd.Timedelta(days=CANCELLATION_KNOWN_DAYS)
    failure_known = pd.Timedelta(days=FAILURE_KNOWN_DAYS)
    return_known = pd.Timedelta(days=RETURN_KNOWN_DAYS)

    past_orders = orders[orders["ordered_at"] < at].copy()
    past_deliveries = deliveries[deliveries["order_id"].isin(past_orders["order_id"])].copy()
    arrived = past_deliveries["delivered_at"] < at
    settled_from = past_deliveries["delivered_at"].where(arrived, past_deliveries["promised_at"])
    # a delivery that arrived only after `at` was then still undelivered: its return is not settled
    return_settled = (
        (past_deliveries["status"] == "returned")
        & (arrived | past_deliveries["delivered_at"].isna())
        & (settled_from + return_known < at)
    )
    failed = (
        (past_deliveries["status"] == "failed")
        & ~arrived
        & (past_deliveries["promised_at"] + failure_known < at)
    )
    past_deliveries["status"] = np.select(
        [return_settled, failed, arrived], ["returned", "failed", "delivered"], "in_transit"
    )
    past_deliveries["delivered_at"] = past_deliveries["delivered_at"].where(arrived)

    delivery = past_orders[["order_id"]].merge(
        deliveries[["order_id", "delivered_at", "promised_at"]], on="order_id", how="left"
    )
    returned_from = (
        delivery["delivered_at"]
        .fillna(delivery["promised_at"])
        .fillna(past_orders["ordered_at"].reset_index(drop=True))
    )
    returned_from.index = past_orders.index
    order_returned = (past_orders["status"] == "returned") & (returned_from + return_known < at)
    order_cancelled = (past_orders["status"] == "cancelled") & (
        past_orders["ordered_at"] + cancel_known < at
    )
    past_orders["status"] = np.select(
        [order_cancelled, order_returned], ["cancelled", "returned"], "placed"
    )
    past_feedback = feedback[feedback["created_at"] < at].copy()
    return past_orders, past_deliveries, past_feedback


def at_day(day: int, hour: int = 0) -> datetime:
    return BASE + timedelta(days=day, hours=hour)
