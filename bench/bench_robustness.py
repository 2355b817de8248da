"""Does the model beat both baselines on shops it has never seen? The black-box protocol in-process.

For each synthetic shop (seed, size, months of history, horizon, orders-only or all four tables):
ingest -> `training.train.train` -> the held-out ROC-AUCs the run reports for the model, recency,
BG/NBD and (with deliveries/feedback) the orders-only model. The held-out cutoff is the latest one
and is never fitted or calibrated on (see `training.split`). The figure that matters is the smallest
margin over the better baseline across shops.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path


@dataclass(frozen=True)
class BenchShop:
    customers: int
    seed: int
    months: int
    horizon_days: int
    orders_only: bool

    @property
    def name(self) -> str:
        tables = "orders" if self.orders_only else "all"
        return f"c{self.customers}-s{self.seed}-m{self.months}-h{self.horizon_days}-{tables}"


# small: seven shops, a few minutes on two shared cores; full: a wider spread of sizes and seeds
SHOPS: dict[str, tuple[BenchShop, ...]] = {
    "small": (
        BenchShop(300, 101, 13, 60, True),
        BenchShop(500, 102, 30, 90, True),
        BenchShop(800, 103, 18, 30, True),
        BenchShop(1_000, 104, 24, 90, False),
        BenchShop(2_000, 105, 36, 60, True),
        BenchShop(5_000, 106, 20, 90, True),
        # the tests' small shop (tests/conftest.py) without its other tables: the closest call
        BenchShop(500, 7, 30, 90, True),
    ),
    "full": (
        BenchShop(500, 7, 30, 90, True),
        BenchShop(500, 7, 30, 60, True),
        BenchShop(300, 101, 13, 60, True),
        BenchShop(300, 111, 13, 30, False),
        BenchShop(500, 102, 30, 90, True),
        BenchShop(500, 112, 30, 90, False),
        BenchShop(800, 103, 18, 30, True),
        BenchShop(1_000, 104, 24, 90, False),
        BenchShop(1_000, 114, 24, 60, True),
        BenchShop(2_000, 105, 36, 60, True),
        BenchShop(2_000, 115, 16, 90, False),
        BenchShop(5_000, 106, 20, 90, True),
        BenchShop(5_000, 116, 36, 30, True),
        BenchShop(5_000, 117, 30, 60, False),
    ),
}
START = date(2023, 1, 1)


def _end(months: int) -> date:
    year, month = START.year + (START.month - 1 + months) // 12, (START.month - 1 + months) % 12 + 1
    return date(year, month, 1) - timedelta(days=1)


def run_shop(shop: BenchShop, folder: Path) -> dict[str, float]:
    """Generate, ingest and train one shop; the held-out ROC-AUCs the run reports."""
    from common.settings import Settings
    from features.ingest import ingest
    from shopsim import ShopConfig, generate_shop
    from training.train import train

    data, home = folder / "shop", folder / "home"
    generate_shop(
        ShopConfig(customers=shop.customers, seed=shop.seed, start=START, end=_end(shop.months)),
        data,
    )
    if shop.orders_only:
        for path in data.glob("*.parquet"):
            if path.name != "orders.parquet":
                path.unlink()
    settings = Settings(home=home)
    ingest(data, settings=settings, progress=None, data_docs=False)
    result = train(horizon_days=shop.horizon_days, settings=settings)
    report = result.report
    aucs = {
        "model": report.model.roc_auc,
        "recency": report.recency.roc_auc,
        "bgnbd": report.bgnbd.roc_auc,
        "test_rows": float(report.model.rows),
    }
    if report.orders_only is not None:
        aucs["model_orders_only"] = report.orders_only.roc_auc
    return aucs


def margins(aucs: dict[str, float]) -> dict[str, float]:
    """Model minus each comparison (positive = the model wins)."""
    out = {
        "vs_recency": aucs["model"] - aucs["recency"],
        "vs_bgnbd": aucs["model"] - aucs["bgnbd"],
    }
    if "model_orders_only" in aucs:
        out["vs_orders_only"] = aucs["model"] - aucs["model_orders_only"]
    return out


def run(scale: str) -> dict[str, object]:
    figures: dict[str, object] = {}
    worst = float("inf")
    worst_shop = ""
    for shop in SHOPS[scale]:
        with tempfile.TemporaryDirectory(
            prefix="churnguard-bench-robustness-", ignore_cleanup_errors=True
        ) as folder:
            aucs = run_shop(shop, Path(folder))
        found = margins(aucs)
        baseline_margin = min(found["vs_recency"], found["vs_bgnbd"])
        if baseline_margin < worst:
            worst, worst_shop = baseline_margin, shop.name
        figures[shop.name] = (
            f"auc {aucs['model']:.4f} | recency {found['vs_recency']:+.4f} "
            f"bgnbd {found['vs_bgnbd']:+.4f}"
            + (f" orders-only {found['vs_orders_only']:+.4f}" if "vs_orders_only" in found else "")
            + f" | {int(aucs['test_rows'])} held-out"
        )
    figures["min_margin_over_baselines"] = round(worst, 4)
    figures["worst_shop"] = worst_shop
    return figures
