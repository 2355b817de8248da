"""Data readiness: is there enough history to learn churn from, before any model is fitted?

Three facts, each with how much more is needed when it falls short: customers with two or more
orders (without repeat buyers there is no rhythm to learn), the span of the orders (the minimum
history plus one label window), and a label window with both outcomes at the latest labelled date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from common.names import ORDERS
from training.split import DEFAULT_MIN_HISTORY_DAYS

MIN_REPEAT_CUSTOMERS = 50


@dataclass(frozen=True)
class DataFacts:
    first_order: date | None
    last_order: date | None
    repeat_customers: int  # customers with two or more orders
    labelled_customers: int  # customers with an order before the latest labelled date
    ordered_again: int  # of those, how many ordered within the horizon after it


class TrainingDataError(ValueError):
    """The warehouse cannot give a model worth registering; the message says what is missing."""


def data_facts(con: duckdb.DuckDBPyConnection, horizon_days: int) -> DataFacts:
    first, last = con.execute(
        f"SELECT min(ordered_at)::DATE, max(ordered_at)::DATE FROM {ORDERS}"
    ).fetchall()[0]
    repeat = con.execute(
        f"SELECT count(*) FROM (SELECT customer_id FROM {ORDERS} GROUP BY customer_id "
        "HAVING count(*) >= 2)"
    ).fetchall()[0][0]
    labelled = again = 0
    if last is not None:
        cutoff = last - timedelta(days=horizon_days)
        labelled, again = con.execute(
            f"""SELECT count(*), count_if(again) FROM (
                SELECT customer_id, bool_or(ordered_at >= ?::DATE) AS again FROM {ORDERS}
                GROUP BY customer_id HAVING min(ordered_at) < ?::DATE)""",
            [cutoff, cutoff],
        ).fetchall()[0]
    return DataFacts(first, last, int(repeat), int(labelled), int(again or 0))


def problems(
    facts: DataFacts, horizon_days: int, min_history_days: int = DEFAULT_MIN_HISTORY_DAYS
) -> list[str]:
    """What is missing, each with how much more is needed (empty: ready). Pure."""
    if facts.first_order is None or facts.last_order is None:
        return ["the warehouse has no orders: run `churnguard ingest DIR`"]
    found: list[str] = []
    if facts.repeat_customers < MIN_REPEAT_CUSTOMERS:
        found.append(
            f"only {facts.repeat_customers} customers have two or more orders; at least "
            f"{MIN_REPEAT_CUSTOMERS} are needed ({MIN_REPEAT_CUSTOMERS - facts.repeat_customers} more)"
        )
    span = (facts.last_order - facts.first_order).days
    needed = min_history_days + horizon_days
    if span < needed:
        found.append(
            f"the orders span {facts.first_order} to {facts.last_order} ({span} days): too short "
            f"for {min_history_days} days of history plus a {horizon_days}-day label window; "
            f"{needed - span} more days of orders are needed (or a shorter --horizon-days)"
        )
    elif facts.labelled_customers and facts.ordered_again in (0, facts.labelled_customers):
        what = "ordered again" if facts.ordered_again else "stayed away"
        found.append(
            f"every one of the {facts.labelled_customers} customers known "
            f"{horizon_days} days before the last order {what} within the horizon: the label window "
            "has one outcome only, so there is no contrast to learn from; more history or a "
            "different --horizon-days is needed"
        )
    return found


def check_ready(con: duckdb.DuckDBPyConnection, horizon_days: int) -> DataFacts:
    facts = data_facts(con, horizon_days)
    found = problems(facts, horizon_days)
    if found:
        raise TrainingDataError("not enough data to train: " + "; ".join(found))
    return facts
