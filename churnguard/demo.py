"""`make demo`: the whole journey on a synthetic shop, with every store under CHURNGUARD_HOME.

generate -> ingest -> train (MLflow, champion) -> daily scoring and queues -> today's queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
from rich.table import Table

from churnguard.daily import format_daily_report, run_daily
from common.settings import Settings
from features.ingest import ingest
from features.reports import summary_table
from outreach.exports import export_items
from outreach.store import open_store
from shopsim import ShopConfig, generate_shop, summarize_shop
from training.train import train

DEMO_START = date(2023, 1, 1)
DEMO_END = date(2025, 6, 30)
TOP_ITEMS = 10


def queue_table(items: pd.DataFrame, top: int = TOP_ITEMS) -> Table:
    """The top of today's queue as an agent would read it."""
    table = Table(
        title=f"today's queue: top {min(top, len(items))} of {len(items)} by value at risk"
    )
    for heading in ("customer", "team", "churn risk", "value at risk", "why", "what to do", "via"):
        table.add_column(heading, overflow="fold")
    for item in items.sort_values("value_at_risk", ascending=False).head(top).itertuples():
        table.add_row(
            item.customer_id,
            item.team,
            f"{item.churn_probability:.0%}",
            f"{item.value_at_risk:,.0f}",
            item.reason_sentence,
            item.action,
            item.channel,
        )
    return table


def run_demo(
    settings: Settings, customers: int = 3_000, seed: int = 42, say: Callable[[Any], None] = print
) -> None:
    """Run every stage once on a fresh synthetic shop and say what each one did."""
    home = settings.ensure_home()
    shop_dir = home / "demo-shop"
    say(f"[bold]1/4 generate[/bold] a synthetic shop of {customers:,} customers into {shop_dir}")
    summary = generate_shop(
        ShopConfig(customers=customers, seed=seed, start=DEMO_START, end=DEMO_END), shop_dir
    )
    say(summarize_shop(summary))

    say("[bold]2/4 ingest[/bold]: validate against the contract, load the DuckDB warehouse")
    ingested = ingest(shop_dir, settings=settings)
    say(summary_table(ingested))
    say(f"report: {ingested.report_path}")

    say(
        "[bold]3/4 train[/bold]: LightGBM over monthly cutoffs, calibrated, gated against baselines"
    )
    trained = train(settings=settings, promote_after=True)
    say(trained.summary())

    say(
        "[bold]4/4 daily[/bold]: score every active customer, publish the snapshot, build the queues"
    )
    report = run_daily(settings)
    say(format_daily_report(report))
    store = open_store(settings.queue_database_url)
    try:
        items = store.items(report.as_of)
        export = settings.exports_dir / f"queue_{report.as_of.isoformat()}.csv"
        export_items(store, report.as_of, export)
    finally:
        store.close()
    say(queue_table(items))
    say(
        "\n".join(
            [
                "[bold]where to look next[/bold]",
                f"  queue export:  {export}",
                "  scoring API:   make serve   (then see README: keys, POST /score, the agents' page)",
                "  experiments:   make mlflow-ui   (http://127.0.0.1:5000)",
                f"  all state:     {home}",
            ]
        )
    )
