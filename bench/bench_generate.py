"""How fast the synthetic shop is written: 1M customers (~10M orders) at full scale, 50k at small."""

from __future__ import annotations

import tempfile
from pathlib import Path

SCALES = {"full": 1_000_000, "small": 50_000}


def _generate(customers: int, out_dir: str) -> dict[str, object]:
    """Runs in the measured child: generate, and report counts and bytes written."""
    from shopsim import ShopConfig, generate_shop

    summary = generate_shop(ShopConfig(customers=customers, seed=0), Path(out_dir))
    written = sum(p.stat().st_size for p in Path(out_dir).rglob("*.parquet"))
    return {
        "orders": summary.orders,
        "feedback": summary.feedback,
        "truth_rows": summary.truth_rows,
        "mib_written": round(written / 2**20, 1),
    }


def run(scale: str) -> dict[str, object]:
    """Generate the default three-year shop in a child process; seconds, throughput and peak memory."""
    from bench.memory import run_measured

    customers = SCALES[scale]
    with tempfile.TemporaryDirectory(prefix="churnguard-bench-generate-") as out_dir:
        result, seconds, peak_mib = run_measured(_generate, customers, out_dir)
    return {
        "customers": customers,
        **result,
        "seconds": round(seconds, 1),
        "orders_per_second": round(result["orders"] / seconds),
        "peak_rss_mib": round(peak_mib),
    }
