"""Churn labels and the cutoffs a training set is built at.

`churned` = no order in [cutoff, cutoff + horizon). A cutoff is only usable once its whole label window
lies inside the data, so the latest cutoff is the last order day minus the horizon.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from features.snapshot import build_labels, build_training_set, check_label_window, last_order_day

DEFAULT_MIN_HISTORY_DAYS = 90


def training_cutoffs(
    con: duckdb.DuckDBPyConnection,
    horizon_days: int,
    every_days: int = 30,
    min_history_days: int = DEFAULT_MIN_HISTORY_DAYS,
) -> list[date]:
    """Cutoffs every `every_days`, counted back from the latest one whose label window ends by the last
    order day, down to the first day with `min_history_days` of orders behind it (ascending)."""
    if every_days < 1:
        raise ValueError(f"every_days must be >= 1, got {every_days}")
    first = con.execute("SELECT date_trunc('day', min(ordered_at)) FROM orders").fetchall()[0][0]
    last_day = last_order_day(con)
    if first is None or last_day is None:
        raise ValueError("cannot choose training cutoffs: the warehouse has no orders")
    earliest = pd.Timestamp(first).date() + timedelta(days=min_history_days)
    latest = last_day.date() - timedelta(days=horizon_days)
    if latest < earliest:
        raise ValueError(
            f"the orders span {pd.Timestamp(first).date()} to {last_day.date()}: too short for "
            f"{min_history_days} days of history plus a {horizon_days}-day label window"
        )
    cutoffs = []
    cutoff = latest
    while cutoff >= earliest:
        cutoffs.append(cutoff)
        cutoff -= timedelta(days=every_days)
    return sorted(cutoffs)


__all__ = [
    "DEFAULT_MIN_HISTORY_DAYS",
    "build_labels",
    "build_training_set",
    "check_label_window",
    "training_cutoffs",
]
