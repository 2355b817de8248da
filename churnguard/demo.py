"""`make demo`: the whole journey on a synthetic shop, with every store under CHURNGUARD_HOME.

generate -> ingest -> train (MLflow, champion) -> daily scoring and queues -> the day's queue, then
where to look next: commands and URLs that work as printed on the demo's data (tested).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from churnguard.daily import DailyReport, format_daily_report, run_daily
from common.settings import Settings
from features.ingest import IngestResult, ingest
from outreach.exports import export_items
from outreach.records import risk_percent
from outreach.store import open_store
from shopsim import ShopConfig, generate_shop
from training.train import TrainResult, train

DEMO_START = date(2023, 1, 1)
DEMO_END = date(2025, 6, 30)
TOP_ITEMS = 5
CLI = ".venv/bin/churnguard"
SERVICE_URL = "http://127.0.0.1:3000"


def queue_table(items: pd.DataFrame, queue_date: date, top: int = TOP_ITEMS) -> Table:
    """The top of the day's queue as an agent would read it, in the queue's own order: expected
    saving (what a contact is expected to keep), not value at risk."""
    table = Table(
        title=f"queue of {queue_date}: top {min(top, len(items))} of {len(items):,} by expected "
        "saving"
    )
    headings = ("customer", "team", "churn risk", "expected saving", "why", "what to do", "via")
    for heading in headings:
        table.add_column(heading, overflow="fold")
    for item in by_expected_saving(items).head(top).itertuples():
        table.add_row(
            item.customer_id,
            item.team,
            risk_percent(item.churn_probability),
            f"{item.expected_saving:,.0f}",
            item.reason_sentence,
            item.action,
            item.channel,
        )
    return table


def by_expected_saving(items: pd.DataFrame) -> pd.DataFrame:
    return items.sort_values(
        ["expected_saving", "churn_probability"], ascending=False, na_position="last"
    )


def ingest_line(result: IngestResult) -> str:
    read = sum(t.read for t in result.tables)
    loaded = sum(t.loaded for t in result.tables)
    quarantined = sum(t.quarantined for t in result.tables)
    return (
        f"  {read:,} rows read, {loaded:,} loaded, {quarantined:,} quarantined; "
        f"report {result.report_path}"
    )


def training_line(result: TrainResult) -> str:
    table = result.report.comparison()
    auc = {name: float(table.loc[name, "roc_auc"]) for name in ("model", "bgnbd", "recency")}
    verdict = result.promotion.message() if result.promotion is not None else "not promoted"
    return (
        f"  ROC-AUC on later data {auc['model']:.3f} (BG/NBD {auc['bgnbd']:.3f}, recency "
        f"{auc['recency']:.3f}); {verdict.split('. ')[0]}"
    )


@dataclass(frozen=True)
class NextSteps:
    """What the demo suggests, each line a command or URL that works on the demo's data."""

    queue_date: date
    team: str
    customer_id: str
    export: Path
    home: Path

    def lines(self) -> list[str]:
        return [
            "[bold]where to look next[/bold] (commands from the repository root)",
            f"  this queue as CSV:  {self.export}",
            f"  one team's queue:   {CLI} queue list --team {self.team}",
            f"  claim two items:    {CLI} queue claim --team {self.team} --n 2 --agent ann",
            f"  outreach effect:    {CLI} report --from {self.queue_date} --to {self.queue_date}",
            "  the service:        make serve   (then, in another shell:)",
            f"    key for agents:   {CLI} keys create --name agents --roles outreach",
            f"    agents' page:     {SERVICE_URL}/agent   (paste the key)",
            f"    score by API:     README 'Scoring API' (customer {self.customer_id})",
            "  experiments:        make mlflow-ui   (http://127.0.0.1:5000; ~40 s to start)",
            f"  all state:          {self.home}",
        ]


def run_demo(
    settings: Settings, customers: int = 3_000, seed: int = 42, say: Callable[[Any], None] = print
) -> NextSteps:
    """Run every stage once on a fresh synthetic shop and say, briefly, what each one did."""
    home = settings.ensure_home()
    shop_dir = home / "demo-shop"
    say(f"[bold]1/4 generate[/bold] a synthetic shop of {customers:,} customers into {shop_dir}")
    shop = generate_shop(
        ShopConfig(customers=customers, seed=seed, start=DEMO_START, end=DEMO_END), shop_dir
    )
    say(f"  {shop.orders:,} orders, {shop.deliveries:,} deliveries, {shop.feedback:,} feedback")

    say("[bold]2/4 ingest[/bold]: validate against the contract, load the DuckDB warehouse")
    say(ingest_line(ingest(shop_dir, settings=settings)))

    say(
        "[bold]3/4 train[/bold]: LightGBM over monthly cutoffs, calibrated, gated against baselines"
    )
    # MLflow prints "Successfully registered model ..." to stderr itself; the line below says it.
    with contextlib.redirect_stderr(io.StringIO()):
        trained = train(settings=settings, promote_after=True)
    say(training_line(trained))

    say(
        "[bold]4/4 daily[/bold]: score every active customer, publish the snapshot, build the queues"
    )
    report: DailyReport = run_daily(settings)
    say(format_daily_report(report))
    store = open_store(settings.queue_database_url)
    try:
        items = store.items(report.as_of)
        export = settings.exports_dir / f"queue_{report.as_of.isoformat()}.csv"
        export_items(store, report.as_of, export)
    finally:
        store.close()
    say(queue_table(items, report.as_of))
    top = by_expected_saving(items)
    steps = NextSteps(
        queue_date=report.as_of,
        team=str(top["team"].iloc[0]) if len(top) else "customer-care",
        customer_id=str(top["customer_id"].iloc[0]) if len(top) else "",
        export=export,
        home=home,
    )
    say("\n".join(steps.lines()))
    return steps
