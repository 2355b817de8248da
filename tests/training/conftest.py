"""Shops ingested and trained once per session: each in its own CHURNGUARD_HOME under tmp_path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from common.settings import Settings
from training.train import TrainResult


@dataclass
class TrainedShop:
    shop: Path
    settings: Settings
    result: TrainResult


def ingested(shop: Path, home: Path) -> Settings:
    from features.ingest import ingest

    settings = Settings(home=home)
    ingest(shop, settings=settings, progress=None, data_docs=False)
    return settings


@pytest.fixture(scope="session")
def trained_small_shop(small_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedShop:
    """The small synthetic shop (all four tables), ingested and trained with a 90-day horizon."""
    from training.train import train

    settings = ingested(small_shop, tmp_path_factory.mktemp("trained_home"))
    return TrainedShop(small_shop, settings, train(horizon_days=90, settings=settings))


@pytest.fixture(scope="session")
def trained_orders_only_shop(
    orders_only_shop: Path, tmp_path_factory: pytest.TempPathFactory
) -> TrainedShop:
    """The same shop with only orders.parquet, trained the same way."""
    from training.train import train

    settings = ingested(orders_only_shop, tmp_path_factory.mktemp("orders_only_home"))
    return TrainedShop(orders_only_shop, settings, train(horizon_days=90, settings=settings))
