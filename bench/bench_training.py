"""Training at scale and the scorer's per-row latency.

small: 2,000 customers (~20k customer-snapshots); full: 110,000 customers over 2.5 years (~1M
customer-snapshots at monthly cutoffs). The shop is loaded straight into a scratch warehouse (the
ingest benchmark measures ingest); text sentiment is left empty, which does not change the cost.
Each training runs in a child process so its peak memory is its own.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

from bench.memory import run_measured

SCALES = {"small": 2_000, "full": 110_000}


def _load(shop: Path, warehouse: Path) -> None:
    from features.contract import CONTRACT
    from features.warehouse import connect

    con = connect(warehouse)
    for table, contract in CONTRACT.items():
        path = shop / f"{table}.parquet"
        if path.exists():
            columns = ", ".join(contract.column_names)
            con.execute(f"INSERT INTO {table} BY NAME SELECT {columns} FROM read_parquet('{path}')")
    con.close()


def _train(home: str) -> dict[str, object]:
    """Build the training set, fit, evaluate and register, as `churnguard train` does."""
    from common.settings import Settings
    from training.train import train

    result = train(horizon_days=90, settings=Settings(home=Path(home)))
    model = result.report.model
    return {
        "training_set_rows": result.rows["total"],
        "fit_rows": result.rows["fit"],
        "rows_test": model.rows,
        "roc_auc": round(model.roc_auc, 4),
        "bgnbd_roc_auc": round(result.report.bgnbd.roc_auc, 4),
        "recency_roc_auc": round(result.report.recency.roc_auc, 4),
        "registered": result.model_kind,
        "backtest_dates": len(result.backtest.dates),
        "backtest_seconds": round(result.backtest.seconds, 1),
        "train_seconds_in_process": round(result.seconds, 1),
        "backtest_margin_over_better_rule": round(result.backtest.margin(), 4),
        "run_id": result.run_id,
    }


def _latency(home: str) -> dict[str, float]:
    """Single-row predict_proba and explain, as the online path calls them (µs per call)."""
    from common.settings import Settings
    from features.snapshot import build_snapshot
    from features.warehouse import connect
    from models.pyfunc import load_scorer

    settings = Settings(home=Path(home))
    scorer, _ = load_scorer(tracking_uri=settings.tracking_uri, fallback_to_latest=True)
    con = connect(settings.warehouse_path, read_only=True)
    last = con.execute("SELECT max(ordered_at)::DATE FROM orders").fetchone()[0]
    frame = build_snapshot(con, last)
    con.close()
    X = scorer.matrix(frame)
    rows = [X[i : i + 1] for i in range(min(len(X), 2000))]
    figures = {}
    for name, call, repeat in (
        ("predict_proba_single_row_us", scorer.predict_proba, 2000),
        ("explain_single_row_us", scorer.explain, 300),
    ):
        for row in rows[:50]:
            call(row)
        started = time.perf_counter()
        for i in range(repeat):
            call(rows[i % len(rows)])
        figures[name] = round((time.perf_counter() - started) / repeat * 1e6, 1)
    started = time.perf_counter()
    scorer.predict_proba(X)
    figures["predict_proba_batch_us_per_row"] = round(
        (time.perf_counter() - started) / len(X) * 1e6, 2
    )
    figures["trees"] = scorer.booster.num_trees() if scorer.booster is not None else 0  # a rule
    figures["snapshot_rows"] = len(X)
    return figures


def run(scale: str) -> dict[str, object]:
    from shopsim import ShopConfig, generate_shop

    customers = SCALES[scale]
    with tempfile.TemporaryDirectory() as tmp:
        shop, home = Path(tmp) / "shop", Path(tmp) / "home"
        started = time.perf_counter()
        generate_shop(
            ShopConfig(customers=customers, seed=1, start=date(2023, 1, 1), end=date(2025, 6, 30)),
            shop,
        )
        _load(shop, home / "warehouse.duckdb")
        prepare = time.perf_counter() - started
        trained, seconds, peak_mib = run_measured(_train, str(home))
        latency, _, _ = run_measured(_latency, str(home))
    return {
        "customers": customers,
        "prepare_shop_seconds": round(prepare, 1),
        "train_seconds": round(seconds, 1),
        "train_peak_rss_mib": round(peak_mib),
        **{k: v for k, v in trained.items() if k != "run_id"},
        **latency,
    }
