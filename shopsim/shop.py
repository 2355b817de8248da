"""Generate a shop end to end: simulate, write, summarise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopsim.config import ShopConfig, ShopSummary
from shopsim.simulation import (
    DELIVERY_STATUS,
    NO_DELIVERY,
    ORDER_STATUS,
    Outcome,
    Simulation,
    simulate,
)
from shopsim.writer import truth_path, write_shop


def generate_shop(config: ShopConfig, out_dir: Path) -> ShopSummary:
    """Simulate the shop in `config` and write its tables and ground truth into `out_dir`."""
    sim = simulate(config)
    files = write_shop(config, sim, out_dir)
    return summarize_simulation(config, sim, Path(out_dir), files)


def summarize_simulation(
    config: ShopConfig, sim: Simulation, out_dir: Path, files: dict[str, Path] | None = None
) -> ShopSummary:
    """Counts and rates of a simulation, as written."""
    orders, feedback, truth = sim.orders, sim.feedback, sim.truth
    shipped = orders.delivery_status != NO_DELIVERY
    n_shipped = max(int(shipped.sum()), 1)
    arrived = np.isin(
        orders.delivery_status, (DELIVERY_STATUS["delivered"], DELIVERY_STATUS["returned"])
    )
    late = arrived & np.isin(orders.outcome, (Outcome.LATE, Outcome.VERY_LATE))
    gone = np.isfinite(sim.dropout_day)
    voiced = np.zeros(config.customers, dtype=bool)
    voiced[feedback.customer] = True
    return ShopSummary(
        out_dir=out_dir,
        customers=config.customers,
        orders=int(orders.customer.size),
        deliveries=int(shipped.sum()),
        feedback=int(feedback.customer.size),
        ratings=int((feedback.rating > 0).sum()),
        texts_without_rating=int((feedback.rating == 0).sum()),
        truth_rows=int(truth.customer.size),
        contacts=int(sim.contacts.customer.size),
        cancelled_rate=float(np.mean(orders.status == ORDER_STATUS["cancelled"]))
        if orders.status.size
        else 0.0,
        late_rate=float(late.sum() / max(int(arrived.sum()), 1)),
        failed_rate=float((orders.delivery_status == DELIVERY_STATUS["failed"]).sum() / n_shipped),
        returned_rate=float(
            (orders.delivery_status == DELIVERY_STATUS["returned"]).sum() / n_shipped
        ),
        in_transit=int((orders.delivery_status == DELIVERY_STATUS["in_transit"]).sum()),
        dropped_out=int(gone.sum()),
        silent_dropouts=int((gone & ~voiced).sum()),
        churn_rate=float(truth.churned.mean()) if truth.churned.size else 0.0,
        mean_true_churn_probability=float(truth.churn_probability.mean())
        if truth.churned.size
        else 0.0,
        files=dict(files or {}),
    )


def summarize_shop(summary: ShopSummary) -> str:
    """A few lines for a person: what was written where, and how the shop behaved."""
    per_customer = summary.orders / max(summary.customers, 1)
    return "\n".join(
        [
            f"Wrote a synthetic shop to {summary.out_dir}",
            f"  {summary.customers:,} customers, {summary.orders:,} orders ({per_customer:.1f} each), "
            f"{summary.deliveries:,} deliveries, {summary.feedback:,} feedback "
            f"({summary.ratings:,} ratings, {summary.texts_without_rating:,} texts without rating)",
            f"  deliveries: {summary.late_rate:.1%} late, {summary.failed_rate:.1%} failed, "
            f"{summary.returned_rate:.1%} returned, {summary.in_transit:,} in transit at the end; "
            f"{summary.cancelled_rate:.1%} of orders cancelled",
            f"  {summary.dropped_out:,} customers dropped out ({summary.silent_dropouts:,} silently); "
            f"churn in the horizon {summary.churn_rate:.1%} realised vs "
            f"{summary.mean_true_churn_probability:.1%} expected over {summary.truth_rows:,} truth rows",
            f"  {summary.contacts:,} campaign contacts (treated and control)",
        ]
    )


def read_truth(out_dir: Path) -> pd.DataFrame:
    """The simulator's churn probabilities written with a shop (customer_id, as_of, horizon_days,
    churn_probability, response, and effect_<playbook>: the drop in churn probability a contact
    with that playbook at as_of causes)."""
    return pd.read_parquet(truth_path(Path(out_dir)))
