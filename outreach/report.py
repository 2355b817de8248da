"""Did outreach keep customers? Churn among queued customers against the control group.

A customer counts once, in the group of their first assignment (queued item or control hold-out) dated
in the period; "churned" means no order in [assignment date, assignment date + horizon). Only
assignments whose horizon has passed (date + horizon <= the warehouse's last order date) are
compared; the others are counted as pending. The difference is control churn rate - queued churn rate
(positive: outreach kept customers), with Newcombe's hybrid score interval (his method 10, built on
Wilson intervals), which stays inside [-1, 1] and behaves with small groups and rates near 0 or 1.
Saves = difference x queued customers: customers kept who would otherwise have left.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field

from common.names import ORDERS
from outreach.store import OutreachStore

Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (nan, nan) for an empty group."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(
    x1: int, n1: int, x2: int, n2: int, z: float = Z_95
) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval (1998, method 10); nans if a group is empty."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    lower = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, lower, upper


class GroupComparison(BaseModel):
    """Queued against control for one slice (all, one team or one playbook)."""

    slice: str
    queued: int
    queued_churned: int
    control: int
    control_churned: int
    queued_churn_rate: float
    control_churn_rate: float
    difference: float = Field(description="control churn rate - queued churn rate")
    difference_low: float
    difference_high: float
    saves: float = Field(description="difference x queued: customers kept thanks to outreach")
    saves_low: float
    saves_high: float


def compare_groups(outcomes: pd.DataFrame, slice_name: str = "all") -> GroupComparison:
    """Compare churn between groups; `outcomes` has `group` ('queued'/'control') and `churned` (bool)."""
    queued = outcomes.loc[outcomes["group"] == "queued", "churned"]
    control = outcomes.loc[outcomes["group"] == "control", "churned"]
    n_queued, x_queued = len(queued), int(queued.sum())
    n_control, x_control = len(control), int(control.sum())
    difference, low, high = difference_interval(x_control, n_control, x_queued, n_queued)
    return GroupComparison(
        slice=slice_name,
        queued=n_queued,
        queued_churned=x_queued,
        control=n_control,
        control_churned=x_control,
        queued_churn_rate=x_queued / n_queued if n_queued else math.nan,
        control_churn_rate=x_control / n_control if n_control else math.nan,
        difference=difference,
        difference_low=low,
        difference_high=high,
        saves=difference * n_queued,
        saves_low=low * n_queued,
        saves_high=high * n_queued,
    )


def first_assignments(assignments: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: their earliest assignment (customer_id, queue_date, group, team, playbook)."""
    ordered = assignments.sort_values(["customer_id", "queue_date"], kind="mergesort")
    return ordered.drop_duplicates("customer_id", keep="first").reset_index(drop=True)


class OutreachReport(BaseModel):
    """The effect of outreach over a period, overall and per team and per playbook."""

    start: date
    end: date
    horizon_days: int
    last_order_date: date | None
    pending: int = Field(description="Customers whose horizon has not passed yet: not compared.")
    first_judged_on: date | None = Field(
        None,
        description="When the earliest pending assignment can be judged: its date + the horizon "
        "(the warehouse needs orders up to then).",
    )
    overall: GroupComparison
    by_team: list[GroupComparison]
    by_playbook: list[GroupComparison]
    follow_ups: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Retries and follow-up checks in the period, per step and state: kept out of "
        "the comparison (the control group gets none).",
    )


def summarize_effect(
    outcomes: pd.DataFrame,
    start: date,
    end: date,
    horizon_days: int,
    last_order_date: date | None,
) -> OutreachReport:
    """The report from per-customer outcomes: customer_id, queue_date, group, team, playbook,
    churned (bool, or None while the horizon has not passed)."""
    decided = outcomes.loc[outcomes["churned"].notna()].copy()
    pending_dates = outcomes.loc[outcomes["churned"].isna(), "queue_date"]
    first_judged_on = (
        min(pending_dates) + timedelta(days=horizon_days) if len(pending_dates) else None
    )
    decided["churned"] = decided["churned"].astype(bool)
    by_team = [compare_groups(part, str(team)) for team, part in decided.groupby("team", sort=True)]
    by_playbook = [
        compare_groups(part, str(name)) for name, part in decided.groupby("playbook", sort=True)
    ]
    return OutreachReport(
        start=start,
        end=end,
        horizon_days=horizon_days,
        last_order_date=last_order_date,
        pending=int(outcomes["churned"].isna().sum()),
        first_judged_on=first_judged_on,
        overall=compare_groups(decided, "all"),
        by_team=by_team,
        by_playbook=by_playbook,
    )


def churn_outcomes(
    warehouse_path: Path | str, assignments: pd.DataFrame, horizon_days: int
) -> tuple[pd.DataFrame, date | None]:
    """Add `churned` to assignments from the warehouse's orders (None while the horizon is open);
    also return the date of the last order in the warehouse."""
    from features.warehouse import connect

    con = connect(warehouse_path, read_only=True)
    try:
        last = con.execute(f"SELECT max(ordered_at) FROM {ORDERS}").fetchall()[0][0]
        last_order_date = last.date() if isinstance(last, datetime) else last
        units = pd.DataFrame(
            {
                "unit": range(len(assignments)),
                "customer_id": assignments["customer_id"].astype(str).to_numpy(),
                "queue_date": pd.to_datetime(assignments["queue_date"]).to_numpy(),
            }
        )
        con.register("outreach_units", units)
        ordered = con.execute(
            f"""
            SELECT EXISTS (
                SELECT 1 FROM {ORDERS} o
                WHERE o.customer_id = u.customer_id
                  AND o.ordered_at >= u.queue_date
                  AND o.ordered_at < u.queue_date + to_days(CAST(? AS INTEGER))
            ) AS ordered
            FROM outreach_units u
            ORDER BY u.unit
            """,
            [horizon_days],
        ).fetchnumpy()["ordered"]
        con.unregister("outreach_units")
    finally:
        con.close()
    horizon = timedelta(days=horizon_days)
    result = assignments.reset_index(drop=True).copy()
    passed = [
        last_order_date is not None and d + horizon <= last_order_date for d in result["queue_date"]
    ]
    result["churned"] = pd.Series(
        [not bool(o) if p else None for o, p in zip(ordered, passed, strict=True)], dtype=object
    )
    return result, last_order_date


def build_report(
    store: OutreachStore, warehouse_path: Path | str, start: date, end: date, horizon_days: int
) -> OutreachReport:
    """Queued against control for assignments dated in [start, end]."""
    if end < start:
        raise ValueError(f"report period: end {end} is before start {start}")
    assignments = first_assignments(store.assignments(start, end))
    outcomes, last_order_date = churn_outcomes(warehouse_path, assignments, horizon_days)
    report = summarize_effect(outcomes, start, end, horizon_days, last_order_date)
    return report.model_copy(update={"follow_ups": store.follow_up_counts(start, end)})


def format_report(report: OutreachReport) -> str:
    """The report as plain text, one line per slice; a plain sentence when nothing can be compared."""
    compared = report.overall.queued + report.overall.control
    if compared == 0 and report.pending == 0:
        return (
            f"No customer was queued or held out between {report.start} and {report.end}: "
            "nothing to compare. `churnguard daily` builds the queues."
        )
    if compared == 0:
        return (
            f"No horizon has passed yet: the {report.pending} customers queued or held out between "
            f"{report.start} and {report.end} are judged {report.horizon_days} days after their "
            f"queue date, the first on {report.first_judged_on} (orders in the warehouse end on "
            f"{report.last_order_date}). Ingest newer orders, then run the report again."
        )

    def percent(value: float) -> str:
        return "   n/a" if math.isnan(value) else f"{100 * value:5.1f}%"

    def line(c: GroupComparison) -> str:
        return (
            f"{c.slice:32s} {c.queued:7d} {percent(c.queued_churn_rate)} {c.control:7d} "
            f"{percent(c.control_churn_rate)} {percent(c.difference)} "
            f"[{percent(c.difference_low)}, {percent(c.difference_high)}] {c.saves:8.1f} "
            f"[{c.saves_low:.1f}, {c.saves_high:.1f}]"
        )

    header = (
        f"{'slice':32s} {'queued':>7s} {'churn':>6s} {'control':>7s} {'churn':>6s} "
        f"{'diff':>6s} {'95% CI':>16s} {'saves':>8s} 95% CI"
    )
    lines = [
        f"Outreach effect for assignments {report.start} to {report.end} "
        f"(horizon {report.horizon_days} days, last order {report.last_order_date}; "
        f"{report.pending} customers pending, horizon not passed)",
        "diff = control churn - queued churn (positive: outreach kept customers); CI: Newcombe hybrid score",
        header,
        line(report.overall),
        "by team:",
        *(line(c) for c in report.by_team),
        "by playbook:",
        *(line(c) for c in report.by_playbook),
    ]
    if report.follow_ups:
        lines.append("follow-ups (not in the comparison):")
        for step, states in sorted(report.follow_ups.items()):
            counted = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
            lines.append(f"  {step}: {sum(states.values())} ({counted})")
    return "\n".join(lines)
