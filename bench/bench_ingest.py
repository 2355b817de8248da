"""Ingest throughput and peak memory: the synthetic shop through `features.ingest.ingest`.

Full scale is 1M customers (~9.4M orders, ~9.1M deliveries, ~0.9M feedback), small is 50k. The shop
is generated once per configuration into a cache under /tmp; each run ingests it into a fresh
CHURNGUARD_HOME in a child process (GX validation over chunks, quarantine, upsert, VADER, reports).
Goal: peak RSS < 4-6 GB at full scale.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

from bench.memory import run_measured

CACHE = Path(
    os.environ.get("CHURNGUARD_BENCH_CACHE", Path(tempfile.gettempdir()) / "churnguard_bench")
)
SCALES = {"small": 50_000, "full": 1_000_000}
SHOP_START, SHOP_END = date(2023, 1, 1), date(2025, 12, 31)
SEED = 0


def shop_dir(customers: int) -> Path:
    """The synthetic shop for this configuration, generated once into the cache."""
    from shopsim import ShopConfig, generate_shop

    path = CACHE / f"ingest_shop_{customers}_seed{SEED}_{SHOP_START}_{SHOP_END}"
    if not (path / "orders.parquet").exists():
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        generate_shop(
            ShopConfig(customers=customers, seed=SEED, start=SHOP_START, end=SHOP_END), partial
        )
        shutil.rmtree(path, ignore_errors=True)
        partial.rename(path)
    return path


def _ingest(shop: str, home: str) -> dict[str, object]:
    """Runs in the measured child: one ingest run into an empty home."""
    from common.settings import Settings
    from features.ingest import ingest

    result = ingest(Path(shop), settings=Settings(home=Path(home)))
    figures: dict[str, object] = {}
    for table in result.tables:
        figures[f"{table.table}_rows"] = table.read
        figures[f"{table.table}_quarantined"] = table.quarantined
        figures[f"{table.table}_seconds"] = table.seconds
    figures["rows_read"] = sum(t.read for t in result.tables)
    figures["rows_loaded"] = sum(t.loaded for t in result.tables)
    figures["sentiment_distinct_texts"] = result.sentiment.get("distinct_texts_scored")
    figures["sentiment_rows_with_text"] = result.sentiment.get("rows_with_text")
    figures["sentiment_seconds"] = result.sentiment.get("seconds")
    return figures


def run(scale: str) -> dict[str, object]:
    """Ingest the shop at `scale` in a fresh process; rows/s and peak memory."""
    customers = SCALES[scale]
    shop = shop_dir(customers)
    with tempfile.TemporaryDirectory(prefix="churnguard-bench-ingest-") as home:
        figures, seconds, peak_mib = run_measured(_ingest, str(shop), home)
    return {
        "customers": customers,
        **figures,
        "seconds": round(seconds, 1),
        "rows_per_second": round(figures["rows_read"] / seconds),
        "peak_rss_mib": round(peak_mib),
    }
