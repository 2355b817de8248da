"""The report's arithmetic on numbers with published answers, and on a warehouse with a known outcome."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.warehouse import connect
from outreach.daily import build_daily_queues
from outreach.report import (
    build_report,
    compare_groups,
    difference_interval,
    first_assignments,
    format_report,
    wilson_interval,
)
from outreach.rules import OutreachConfig
from outreach.store import OutreachStore
from tests.outreach.conftest import make_scored


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10
    difference, low, high = difference_interval(56, 70, 48, 80)
    assert difference == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    # example (c): 5/56 vs 0/29 -> (-0.0381, 0.1926)
    assert difference_interval(5, 56, 0, 29)[1:] == pytest.approx((-0.0381, 0.1926), abs=5e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert all(math.isnan(v) for v in difference_interval(1, 0, 1, 10))


def test_compare_groups_counts_saves_from_the_churn_difference() -> None:
    outcomes = pd.DataFrame(
        {
            "group": ["queued"] * 80 + ["control"] * 70,
            "churned": [True] * 48 + [False] * 32 + [True] * 56 + [False] * 14,
        }
    )
    result = compare_groups(outcomes)
    assert (result.queued, result.queued_churned, result.control, result.control_churned) == (
        80,
        48,
        70,
        56,
    )
    assert result.queued_churn_rate == pytest.approx(
        0.6
    ) and result.control_churn_rate == pytest.approx(0.8)
    assert result.difference == pytest.approx(0.2)
    assert result.saves == pytest.approx(16.0)
    assert (result.saves_low, result.saves_high) == pytest.approx(
        (80 * 0.0524, 80 * 0.3339), abs=5e-3
    )


def test_a_customer_counts_once_in_the_group_of_their_first_assignment() -> None:
    assignments = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "queue_date": [date(2025, 4, 2), date(2025, 3, 1), date(2025, 3, 5)],
            "group": ["queued", "control", "queued"],
            "team": ["marketing"] * 3,
            "playbook": ["win_back_offer"] * 3,
        }
    )
    first = first_assignments(assignments)
    assert first[["customer_id", "group"]].values.tolist() == [["a", "control"], ["b", "queued"]]


def test_report_reads_churn_from_the_warehouse(tmp_path: Path) -> None:
    """40 queued and 10 control customers; half the queued order again, one in ten of the control."""
    store = OutreachStore.open(f"sqlite:///{tmp_path / 'outreach.db'}")
    day = date(2025, 1, 6)
    config = OutreachConfig(control_fraction=0.2, min_churn_probability=0.0)
    build_daily_queues(store, make_scored(60), None, day, config)
    assignments = store.assignments(day, day)
    queued = assignments.loc[assignments["group"] == "queued", "customer_id"].tolist()
    control = assignments.loc[assignments["group"] == "control", "customer_id"].tolist()
    assert len(control) >= 5

    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    at = datetime(2025, 1, 6)
    orders = [
        (f"o{i}", c, at + timedelta(days=10)) for i, c in enumerate(queued[: len(queued) // 2])
    ]
    orders += [("ctl", control[0], at + timedelta(days=5))]
    orders += [("late", queued[-1], at + timedelta(days=95))]  # after the horizon: still churned
    orders += [("before", queued[-2], at - timedelta(days=1))]  # before the date: does not count
    orders += [("last", "someone", datetime(2025, 6, 1))]
    con.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, amount) VALUES (?, ?, ?, 10.0)",
        orders,
    )
    con.close()

    report = build_report(store, warehouse, day, day, horizon_days=90)
    store.close()
    overall = report.overall
    assert (overall.queued, overall.queued_churned) == (len(queued), len(queued) - len(queued) // 2)
    assert (overall.control, overall.control_churned) == (len(control), len(control) - 1)
    expected = (len(control) - 1) / len(control) - (len(queued) - len(queued) // 2) / len(queued)
    assert overall.difference == pytest.approx(expected)
    assert overall.saves == pytest.approx(expected * len(queued))
    assert report.pending == 0 and report.last_order_date == date(2025, 6, 1)
    assert {c.slice for c in report.by_team} <= {
        "customer-care",
        "service-recovery",
        "marketing",
        "account-management",
    }
    assert sum(c.queued for c in report.by_playbook) == len(queued)
    assert "Newcombe" in format_report(report)


def test_assignments_whose_horizon_has_not_passed_are_pending(tmp_path: Path) -> None:
    store = OutreachStore.open(f"sqlite:///{tmp_path / 'outreach.db'}")
    day = date(2025, 5, 1)
    build_daily_queues(store, make_scored(30), None, day, OutreachConfig(control_fraction=0.2))
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    con.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, amount) VALUES ('o', 'x', '2025-06-01', 1)"
    )
    con.close()
    report = build_report(store, warehouse, day, day, horizon_days=90)
    assigned = len(store.assignments(day, day))
    store.close()
    assert assigned > 0 and report.pending == assigned
    assert report.overall.queued == 0 and math.isnan(report.overall.difference)
    text = format_report(report)
    assert "nan" not in text
    assert text.startswith(f"No horizon has passed yet: the {assigned} customers")
    assert "the first on 2025-07-30" in text and "end on 2025-06-01" in text


def test_a_period_without_assignments_says_so(tmp_path: Path) -> None:
    store = OutreachStore.open(f"sqlite:///{tmp_path / 'outreach.db'}")
    warehouse = tmp_path / "warehouse.duckdb"
    connect(warehouse).close()
    report = build_report(store, warehouse, date(2025, 1, 1), date(2025, 1, 31), horizon_days=90)
    store.close()
    assert format_report(report).startswith("No customer was queued or held out between 2025-01-01")
