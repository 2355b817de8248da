"""Shops with little history: train where it is possible, say clearly why where it is not."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churnguard.cli import app
from shopsim import ShopConfig, generate_shop

runner = CliRunner()


def shop(tmp_path: Path, start: date, end: date, customers: int = 200) -> Path:
    out = tmp_path / "shop"
    generate_shop(ShopConfig(customers=customers, seed=3, start=start, end=end), out)
    return out


def test_history_shorter_than_history_plus_horizon_is_a_clear_error(tmp_path, churnguard_home):
    data = shop(tmp_path, date(2025, 4, 1), date(2025, 6, 30))
    assert runner.invoke(app, ["ingest", str(data), "--no-progress"]).exit_code == 0
    result = runner.invoke(app, ["train", "--horizon-days", "60"])
    assert result.exit_code == 2
    assert "too short" in result.output and "60-day label window" in result.output


@pytest.mark.slow
def test_six_months_of_orders_still_train_a_model(tmp_path, churnguard_home):
    from training.train import train

    data = shop(tmp_path, date(2025, 1, 1), date(2025, 6, 30))
    assert runner.invoke(app, ["ingest", str(data), "--no-progress"]).exit_code == 0
    result = train(horizon_days=60)
    assert not result.split.honest  # said in the run's tags: label windows overlap the test's
    assert result.report.model.roc_auc > 0.6
    assert result.report.model.rows > 50
