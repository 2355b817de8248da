"""Data readiness: too little history is refused with exit 2 and what is missing, before any fit."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from churnguard.cli import app
from training.readiness import MIN_REPEAT_CUSTOMERS, DataFacts, problems

runner = CliRunner()
START = datetime(2025, 1, 1)


def orders_shop(folder: Path, customers: int, days: int, every_days: float, seed: int = 0) -> Path:
    """Customers who each order every `every_days` (jittered) from a random first day to the end."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        t = rng.uniform(0, min(30, days / 3))
        while t < days:
            rows.append((f"C{c:04d}", START + timedelta(days=float(t))))
            t += every_days * rng.uniform(0.8, 1.2)
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "order_id": [f"O{i:06d}" for i in range(len(rows))],
            "customer_id": [c for c, _ in rows],
            "ordered_at": [t for _, t in rows],
            "amount": 25.0,
            "status": "delivered",
        }
    ).to_parquet(folder / "orders.parquet", index=False)
    return folder


def train_exit(folder: Path, horizon_days: int):
    assert runner.invoke(app, ["ingest", str(folder), "--no-progress"]).exit_code == 0
    return runner.invoke(app, ["train", "--horizon-days", str(horizon_days)])


def test_too_few_repeat_customers_is_refused_with_how_many_more(tmp_path, churnguard_home):
    result = train_exit(orders_shop(tmp_path / "shop", customers=20, days=400, every_days=40), 60)
    assert result.exit_code == 2
    assert "only 20 customers have two or more orders" in result.output
    assert f"{MIN_REPEAT_CUSTOMERS - 20} more" in result.output


def test_too_short_a_history_is_refused_with_how_many_more_days(tmp_path, churnguard_home):
    result = train_exit(orders_shop(tmp_path / "shop", customers=80, days=100, every_days=10), 60)
    assert result.exit_code == 2
    assert "too short" in result.output and "60-day label window" in result.output
    assert "more days of orders are needed" in result.output


def test_a_label_window_with_one_outcome_is_refused(tmp_path, churnguard_home):
    # everyone orders every ~10 days to the end: nobody stays away for 60 days
    result = train_exit(orders_shop(tmp_path / "shop", customers=80, days=300, every_days=10), 60)
    assert result.exit_code == 2
    assert "one outcome only" in result.output and "ordered again" in result.output


def test_problems_is_empty_for_a_shop_with_enough_of_everything():
    facts = DataFacts(date(2024, 1, 1), date(2025, 1, 1), 500, 400, 150)
    assert problems(facts, horizon_days=90) == []
    none_back = DataFacts(date(2024, 1, 1), date(2025, 1, 1), 500, 400, 0)
    assert "stayed away" in problems(none_back, horizon_days=90)[0]
