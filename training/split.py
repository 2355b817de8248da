"""Training cutoffs and their time-respecting split: fit, validation (early stopping and calibration), test.

With cutoffs c_1 < ... < c_n and horizon H (label window [c, c + H)):
- test = c_n, the latest cutoff whose label window ends by the last order date;
- the training pool is every cutoff with c + H <= c_n, so no training label looks at a day of the
  test window: the held-out evaluation is what the model would have scored on c_n, honestly;
- validation = the latest pool cutoff c_v; fit = pool cutoffs with c + H <= c_v ("strict"), so the
  early-stopping and calibration slice is also later than, and disjoint in label time from, the fit.

Short histories relax the inner split first, never the test: "adjacent" (fit = the pool before c_v,
windows may overlap c_v's), then "customers" (one pool cutoff, customers split 80/20 by id hash).
With no pool at all (history shorter than about two horizons) the test cutoff's own earlier cutoffs
are used ("overlapping": their label windows overlap the test window; said in the run's tags), and
with a single cutoff its customers are split 60/20/20 into fit, validation and test
("single-cutoff"). The strategy is logged with every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from features.snapshot import last_order_day

DEFAULT_MIN_HISTORY_DAYS = 90
Strategy = Literal["strict", "adjacent", "customers", "overlapping", "single-cutoff"]
VALID_SHARE = 0.2


@dataclass(frozen=True)
class TimeSplit:
    fit_cutoffs: tuple[date, ...]
    valid_cutoffs: tuple[date, ...]
    test_cutoff: date
    strategy: Strategy

    @property
    def honest(self) -> bool:
        """True when no training label window overlaps the test window."""
        return self.strategy in ("strict", "adjacent", "customers")

    def describe(self) -> str:
        return (
            f"{self.strategy}: fit on {len(self.fit_cutoffs)} cutoffs "
            f"{_span(self.fit_cutoffs)}, validate on {_span(self.valid_cutoffs)}, "
            f"test on {self.test_cutoff}"
        )


def _span(cutoffs: Sequence[date]) -> str:
    return f"{min(cutoffs)}..{max(cutoffs)}" if cutoffs else "-"


CUTOFF_SPACINGS_DAYS = (30, 14, 7)
MIN_CUTOFFS = 8


def cutoff_spacing(span_days: int, min_cutoffs: int = MIN_CUTOFFS) -> int:
    """Monthly cutoffs where they give at least `min_cutoffs`, else fortnightly, else weekly.

    `span_days` is the range cutoffs can fall in (the history less the minimum history and one
    label window). Weekly is chosen only when fortnightly gives too few, i.e. a span under about 100
    days, so it never holds more than ~15 cutoffs: the row count stays capped by construction."""
    for every in CUTOFF_SPACINGS_DAYS:
        if span_days // every + 1 >= min_cutoffs:
            return every
    return CUTOFF_SPACINGS_DAYS[-1]


def cutoff_span_days(
    con: duckdb.DuckDBPyConnection,
    horizon_days: int,
    min_history_days: int = DEFAULT_MIN_HISTORY_DAYS,
) -> int:
    """Days between the earliest and the latest possible cutoff (negative: no cutoff fits)."""
    first = con.execute("SELECT date_trunc('day', min(ordered_at)) FROM orders").fetchall()[0][0]
    last_day = last_order_day(con)
    if first is None or last_day is None:
        return -1
    earliest = pd.Timestamp(first).date() + timedelta(days=min_history_days)
    return (last_day.date() - timedelta(days=horizon_days) - earliest).days


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


def plan_split(cutoffs: Sequence[date], horizon_days: int) -> TimeSplit:
    """Choose fit / validation / test cutoffs (see the module docstring for the rules)."""
    cutoffs = sorted(set(cutoffs))
    if not cutoffs:
        raise ValueError("no training cutoffs: the orders do not cover a label window")
    horizon = timedelta(days=horizon_days)
    test = cutoffs[-1]
    pool = [c for c in cutoffs if c + horizon <= test]
    if pool:
        valid = pool[-1]
        strict = [c for c in pool if c + horizon <= valid]
        if strict:
            return TimeSplit(tuple(strict), (valid,), test, "strict")
        if len(pool) > 1:
            return TimeSplit(tuple(pool[:-1]), (valid,), test, "adjacent")
        return TimeSplit((valid,), (valid,), test, "customers")
    earlier = cutoffs[:-1]
    if len(earlier) >= 2:
        return TimeSplit(tuple(earlier[:-1]), (earlier[-1],), test, "overlapping")
    if earlier:
        return TimeSplit(tuple(earlier), tuple(earlier), test, "overlapping")
    return TimeSplit((test,), (test,), test, "single-cutoff")


def customer_bucket(customer_ids: pd.Series) -> np.ndarray:
    """A stable bucket 0-999 per customer from a hash of the id (same customer, same side, every run)."""
    digests = [
        int.from_bytes(hashlib.blake2b(str(c).encode(), digest_size=4).digest(), "big")
        for c in customer_ids
    ]
    return np.asarray(digests, dtype=np.uint64) % 1000


def split_frame(
    frame: pd.DataFrame, split: TimeSplit
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(fit, valid, test) rows of a training set with a `cutoff` column."""
    cutoff = pd.to_datetime(frame["cutoff"]).dt.date
    test_mask = (cutoff == split.test_cutoff).to_numpy()
    fit_mask = cutoff.isin(split.fit_cutoffs).to_numpy()
    valid_mask = cutoff.isin(split.valid_cutoffs).to_numpy()
    if set(split.fit_cutoffs) == set(split.valid_cutoffs):
        bucket = customer_bucket(frame["customer_id"])
        held = bucket < VALID_SHARE * 1000
        fit_mask, valid_mask = fit_mask & ~held, valid_mask & held
        if split.strategy == "single-cutoff":  # a third slice of customers is the test
            tested = (bucket >= VALID_SHARE * 1000) & (bucket < 2 * VALID_SHARE * 1000)
            fit_mask, test_mask = fit_mask & ~tested, test_mask & tested
    return frame[fit_mask], frame[valid_mask], frame[test_mask]
