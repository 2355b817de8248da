"""Building a day's outreach queues for 1M scored customers: wall time and peak memory.

The baseline, measured in the same run, is making the scored frame alone (what the daily job holds
anyway); the figures of interest are the build's extra time and its peak memory against that.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.memory import run_measured

SIZES = {"small": 50_000, "full": 1_000_000}
DAY = date(2025, 3, 3)
CODES = (
    "LATE_DELIVERY",
    "LOW_RATING",
    "LONG_INACTIVE",
    "DECLINING_ACTIVITY",
    "FEW_ORDERS",
    "SUPPORT_TICKETS",
)


def scored_customers(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A day's scored frame (two reasons each) and a customers table with mixed consents."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n).astype(str)).astype(object)
    first = rng.integers(0, len(CODES), n)
    second = (first + 1 + rng.integers(0, len(CODES) - 1, n)) % len(CODES)
    reasons = [
        [
            {"code": CODES[a], "sentence": f"reason {CODES[a].lower()}", "contribution": 0.3},
            {"code": CODES[b], "sentence": f"reason {CODES[b].lower()}", "contribution": 0.1},
        ]
        for a, b in zip(first.tolist(), second.tolist(), strict=True)
    ]
    scored = pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": rng.beta(2, 5, n),
            "reasons": reasons,
            "orders_365d": rng.poisson(4, n),
            "avg_order_value": rng.gamma(2.0, 30.0, n),
            "tenure_days": rng.integers(1, 2500, n),
        }
    )
    consent = rng.choice(
        np.array([True, False, None], dtype=object), size=(n, 3), p=[0.6, 0.2, 0.2]
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "preferred_channel": rng.choice(
                np.array(["email", "phone", "sms", None], dtype=object), n
            ),
            "consent_email": consent[:, 0],
            "consent_phone": consent[:, 1],
            "consent_sms": consent[:, 2],
        }
    )
    return scored, customers


def make_only(n: int) -> int:
    scored, customers = scored_customers(n)
    return len(scored) + len(customers)


def make_and_build(n: int) -> dict[str, object]:
    from outreach.daily import build_daily_queues
    from outreach.rules import OutreachConfig
    from outreach.store import OutreachStore

    scored, customers = scored_customers(n)
    with tempfile.TemporaryDirectory() as folder:
        store = OutreachStore.open(f"sqlite:///{Path(folder) / 'outreach.db'}")
        started = time.perf_counter()
        report = build_daily_queues(store, scored, customers, DAY, OutreachConfig())
        build_seconds = time.perf_counter() - started
        # the same day with capacities that let every eligible customer through: the write path
        started = time.perf_counter()
        teams = ("marketing", "customer-care", "service-recovery", "account-management")
        wide = OutreachConfig(team_capacity=dict.fromkeys(teams, n))
        uncapped = build_daily_queues(store, scored, customers, date(2025, 4, 7), wide)
        uncapped_seconds = time.perf_counter() - started
        store.close()
    return {
        "build_seconds": round(build_seconds, 2),
        "queued": report.queued,
        "control_group": report.control_group,
        "left_out": {
            "below_min_probability": report.below_min_probability,
            "no_consented_channel": report.no_consented_channel,
            "over_capacity": report.over_capacity,
        },
        "uncapped_build_seconds": round(uncapped_seconds, 2),
        "uncapped_queued": uncapped.queued,
    }


def run(scale: str) -> dict[str, object]:
    n = SIZES[scale]
    _, base_seconds, base_peak = run_measured(make_only, n)
    result, seconds, peak = run_measured(make_and_build, n)
    return {
        "customers": n,
        "make_frame_seconds (baseline)": round(base_seconds, 1),
        "make_frame_peak_mib (baseline)": round(base_peak),
        **result,
        "total_peak_mib": round(peak),
        "peak_ratio_vs_baseline": round(peak / base_peak, 2),
        "total_seconds": round(seconds, 1),
    }
