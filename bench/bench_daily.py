"""The daily job at scale: features, scoring, reasons for reachable customers only, queues.

full: the 1M-customer shop of the features benchmark; small: its 20k-customer shop. The model is
trained once on a small shop into its own MLflow store (the daily job's cost does not depend on
what the model learnt, only on its size and the number of customers). The baseline in the same run
is the snapshot alone, so the ratio says what scoring, reasons and queues add on top of features.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

from bench.bench_features import CACHE, warehouse_file
from bench.memory import run_measured

AS_OF = date(2025, 12, 1)
MODEL_SHOP_CUSTOMERS = 5_000


def _trained_store() -> Path:
    """A home whose MLflow store holds a champion trained on a small synthetic shop (cached)."""
    from common.settings import Settings
    from features.ingest import ingest
    from shopsim import ShopConfig, generate_shop
    from training.train import train

    home = CACHE / f"daily_model_{MODEL_SHOP_CUSTOMERS}"
    if (home / "mlflow.db").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    shop = CACHE / f"daily_model_shop_{MODEL_SHOP_CUSTOMERS}"
    generate_shop(
        ShopConfig(
            customers=MODEL_SHOP_CUSTOMERS, seed=3, start=date(2023, 1, 1), end=date(2025, 12, 31)
        ),
        shop,
    )
    settings = Settings(home=home)
    ingest(shop, settings=settings, data_docs=False)
    train(horizon_days=90, settings=settings, promote_after=True)
    return home


def _snapshot_only(warehouse: str) -> dict[str, object]:
    from features.snapshot import build_snapshot
    from features.warehouse import connect

    con = connect(Path(warehouse), read_only=True)
    try:
        return {"rows": len(build_snapshot(con, datetime(AS_OF.year, AS_OF.month, AS_OF.day)))}
    finally:
        con.close()


def _daily(home: str, tracking_uri: str) -> dict[str, object]:
    from churnguard.daily import run_daily
    from common.settings import Settings

    report = run_daily(Settings(home=Path(home), mlflow_tracking_uri=tracking_uri), as_of=AS_OF)
    return {
        "customers_scored": report.customers_scored,
        "reasons_computed": report.reasons_computed,
        "queued": report.queues.queued,
        "control_group": report.queues.control_group,
    }


def run(scale: str) -> dict[str, object]:
    from common.settings import Settings

    model_home = _trained_store()
    tracking_uri = Settings(home=model_home).tracking_uri
    warehouse = warehouse_file(scale)
    with tempfile.TemporaryDirectory(prefix="cg-daily-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copyfile(warehouse, home / "warehouse.duckdb")
        snapshot, snapshot_seconds, snapshot_peak = run_measured(
            _snapshot_only, str(home / "warehouse.duckdb")
        )
        daily, daily_seconds, daily_peak = run_measured(_daily, str(home), tracking_uri)
    return {
        "scale": scale,
        "as_of": AS_OF.isoformat(),
        **daily,
        "snapshot_only_seconds (baseline)": round(snapshot_seconds, 1),
        "snapshot_only_peak_mib (baseline)": round(snapshot_peak),
        "daily_seconds": round(daily_seconds, 1),
        "daily_peak_mib": round(daily_peak),
        "daily_vs_snapshot_time_ratio": round(daily_seconds / snapshot_seconds, 2),
        "snapshot_rows": snapshot["rows"],
    }
