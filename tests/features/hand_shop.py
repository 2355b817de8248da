"""A four-customer shop whose feature values at 2025-07-01 are worked out by hand in the tests."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

AS_OF = datetime(2025, 7, 1)


def _ts(values):
    return pd.to_datetime(pd.Series(values, dtype="object"), format="ISO8601").astype(
        "datetime64[us]"
    )


def hand_orders() -> pd.DataFrame:
    rows = [
        # ann: a regular customer with a late, a cancelled, a returned and an open overdue order
        ("a1", "ann", "2025-01-01", 50.0, "delivered"),
        ("a2", "ann", "2025-03-02", 30.0, "cancelled"),
        ("a3", "ann", "2025-05-01", 70.0, "returned"),
        ("a4", "ann", "2025-06-21", 40.0, "shipped"),
        ("a5", "ann", "2025-07-05", 25.0, "placed"),  # after the cutoff
        # bob: one order whose delivery failed; next order only after the label window
        ("b1", "bob", "2025-04-11", 20.0, "delivered"),
        ("b2", "bob", "2025-10-15", 20.0, "placed"),
        # cat: last seen more than a year before the cutoff: not active
        ("c1", "cat", "2024-05-01", 99.0, "delivered"),
        # dan: ordered the evening before the cutoff (cancelled later) and exactly at the cutoff
        ("d1", "dan", "2025-06-30 12:00", 10.0, "cancelled"),
        ("d2", "dan", "2025-07-01 00:00", 15.0, "placed"),
    ]
    frame = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "ordered_at", "amount", "status"]
    )
    frame["ordered_at"] = _ts(frame["ordered_at"])
    return frame


def hand_deliveries() -> pd.DataFrame:
    rows = [
        ("a1", "2025-01-04", "2025-01-06", "delivered"),  # 2 days late
        ("a2", "2025-03-05", None, "in_transit"),  # cancelled before shipping
        ("a3", "2025-05-03", "2025-05-03 10:00", "returned"),  # on the promised day, returned
        ("a4", "2025-06-25", None, "in_transit"),  # open, 6 days past the promise at the cutoff
        ("b1", "2025-04-14", None, "failed"),
        ("c1", "2024-05-03", "2024-05-03", "delivered"),
        ("d1", "2025-07-03", "2025-07-02", "delivered"),  # arrived after the cutoff
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "promised_at", "delivered_at", "status"])
    frame["promised_at"] = _ts(frame["promised_at"])
    frame["delivered_at"] = _ts(frame["delivered_at"])
    return frame


def hand_feedback() -> pd.DataFrame:
    rows = [
        ("f1", "ann", "a2", "2025-03-10", "review", 2, -0.6),  # negative (rating and text)
        ("f2", "ann", "a4", "2025-06-15", "ticket", None, -0.2),  # not negative: -0.2 > -0.3
        ("f3", "ann", "a4", "2025-07-02", "review", 1, -0.9),  # after the cutoff
        ("f4", "cat", None, "2024-05-10", "review", 5, 0.8),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "feedback_id",
            "customer_id",
            "order_id",
            "created_at",
            "channel",
            "rating",
            "text_sentiment",
        ],
    )
    frame["created_at"] = _ts(frame["created_at"])
    frame["rating"] = frame["rating"].astype("Int32")
    frame["text"] = None
    return frame
