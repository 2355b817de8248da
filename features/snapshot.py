"""Point-in-time feature snapshots and training sets, computed in DuckDB over the warehouse.

One SQL statement, assembled from `features.catalogue`, computes every feature of every active
customer for one or more cutoffs; training sets add the churn label from the orders after the cutoff.
Pandas appears only at the edge (the result frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd

from features.catalogue import (
    FEATURE_NAMES,
    FEATURES,
    KNOWN_FEEDBACK_SQL,
    KNOWN_ORDERS_SQL,
    FeatureDefinition,
)

DEFAULT_LOOKBACK_DAYS = 365
# With one cutoff the window needs no cutoff in its partition key: same gaps, ~15% less work at 10M orders.
_GAP_PARTITION = "PARTITION BY o.customer_id, c.t"
_GAP_PARTITION_ONE_CUTOFF = "PARTITION BY o.customer_id"


def as_cutoff(as_of: datetime | date | str) -> datetime:
    """A cutoff as the warehouse stores time: a naive UTC datetime (a date means its midnight)."""
    if isinstance(as_of, str):
        as_of = datetime.fromisoformat(as_of)
    if isinstance(as_of, pd.Timestamp):
        as_of = as_of.to_pydatetime()
    if isinstance(as_of, datetime):
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
        return as_of
    if isinstance(as_of, date):
        return datetime(as_of.year, as_of.month, as_of.day)
    raise TypeError(
        f"as_of must be a date, a datetime or an ISO string, not {type(as_of).__name__}"
    )


def _timestamp_literal(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"


def _stage(stage: str) -> list[FeatureDefinition]:
    return [f for f in FEATURES if f.stage == stage]


def _aggregates(stage: str) -> str:
    return ",\n        ".join(f"{f.sql} AS {f.name}" for f in _stage(stage))


def _filled(alias: str, stage: str, present: str) -> list[str]:
    columns = []
    for feature in _stage(stage):
        value = f"{alias}.{feature.name}"
        if feature.fill == "zero":
            value = f"coalesce({value}, 0)"
        columns.append(f"CASE WHEN {present} THEN {value} END AS {feature.name}")
    return columns


def features_sql(
    cutoffs: Sequence[datetime], lookback_days: int, horizon_days: int | None = None
) -> str:
    """The statement computing every catalogue feature (and, with a horizon, the label) per cutoff."""
    if not cutoffs:
        raise ValueError("features_sql needs at least one cutoff")
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be >= 1, got {lookback_days}")
    cutoff_rows = ", ".join(f"({_timestamp_literal(c)})" for c in cutoffs)
    known_orders = KNOWN_ORDERS_SQL
    if len(cutoffs) == 1:
        if _GAP_PARTITION not in known_orders:
            raise RuntimeError(f"known_orders lost its gap window {_GAP_PARTITION!r}")
        known_orders = known_orders.replace(_GAP_PARTITION, _GAP_PARTITION_ONE_CUTOFF)
    filled = [
        *(f"o.{f.name}" for f in _stage("orders")),
        *_filled("o", "deliveries", "s.has_deliveries"),
        *_filled("f", "feedback", "s.has_feedback"),
    ]
    outputs = [f"CAST({FEATURE_BY_NAME_SQL[name]} AS DOUBLE) AS {name}" for name in FEATURE_NAMES]
    label_cte, label_join, label_column = "", "", ""
    if horizon_days is not None:
        label_cte = f""",
labels AS (
    SELECT o.customer_id, c.t, count(*) AS future_orders
    FROM orders AS o
    JOIN cutoffs AS c
        ON o.ordered_at >= c.t AND o.ordered_at < c.t + INTERVAL {int(horizon_days)} DAY
    GROUP BY o.customer_id, c.t
)"""
        label_join = "LEFT JOIN labels AS l USING (customer_id, t)"
        label_column = "CAST(coalesce(l.future_orders, 0) = 0 AS INTEGER) AS churned,\n    "
    filled_sql = ",\n        ".join(filled)
    outputs_sql = ",\n    ".join(outputs)
    return f"""
WITH cutoffs(t) AS (VALUES {cutoff_rows}),
known_orders AS ({known_orders}),
known_feedback AS ({KNOWN_FEEDBACK_SQL}),
customer_agg AS (
    SELECT customer_id, t,
        {_aggregates("orders")},
        {_aggregates("deliveries")},
        count_if(has_delivery) AS deliveries_known
    FROM known_orders
    GROUP BY customer_id, t
),
active AS (SELECT * FROM customer_agg WHERE days_since_last_order <= {int(lookback_days)}),
feedback_agg AS (
    SELECT customer_id, t,
        {_aggregates("feedback")}
    FROM known_feedback
    GROUP BY customer_id, t
),
sources AS (
    SELECT c.t,
        EXISTS (SELECT 1 FROM customer_agg AS x WHERE x.t = c.t AND x.deliveries_known > 0)
            AS has_deliveries,
        EXISTS (SELECT 1 FROM feedback_agg AS x WHERE x.t = c.t) AS has_feedback
    FROM cutoffs AS c
),
filled AS (
    SELECT o.customer_id, o.t,
        {filled_sql}
    FROM active AS o
    JOIN sources AS s ON s.t = o.t
    LEFT JOIN feedback_agg AS f ON f.customer_id = o.customer_id AND f.t = o.t
){label_cte}
SELECT customer_id, t AS as_of,
    {label_column}{outputs_sql}
FROM filled
{label_join}
ORDER BY t, customer_id
"""


# The final SELECT: aggregated features pass through by name, derived ones apply their expression.
FEATURE_BY_NAME_SQL: dict[str, str] = {
    f.name: (f"({f.sql})" if f.stage == "derived" else f.name) for f in FEATURES
}


def _run(
    con: duckdb.DuckDBPyConnection,
    cutoffs: Sequence[datetime],
    lookback_days: int,
    horizon_days: int | None,
) -> pd.DataFrame:
    frame = con.execute(features_sql(cutoffs, lookback_days, horizon_days)).df()
    if not (frame[list(FEATURE_NAMES)].dtypes == "float64").all():  # e.g. an empty result
        frame[list(FEATURE_NAMES)] = frame[list(FEATURE_NAMES)].astype("float64")
    if "churned" in frame.columns:
        frame["churned"] = frame["churned"].astype("int64")
    return frame


def build_snapshot(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime | date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """Features of every customer active at `as_of` (an order in [as_of - lookback, as_of)), using only
    what was known before `as_of`: columns customer_id, as_of, then FEATURE_NAMES (float64, NaN = missing).
    """
    return _run(con, [as_cutoff(as_of)], lookback_days, None)


LAST_ORDER_DAY_SQL = "SELECT date_trunc('day', max(ordered_at)) FROM orders"


def last_order_day(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Midnight of the day of the latest order in the warehouse (the data may end mid-day)."""
    latest = con.execute(LAST_ORDER_DAY_SQL).fetchall()[0][0]
    return None if latest is None else pd.Timestamp(latest).to_pydatetime()


def check_label_window(
    con: duckdb.DuckDBPyConnection, cutoffs: Iterable[datetime], horizon_days: int
) -> None:
    """Raise when a cutoff's label window [cutoff, cutoff + horizon) reaches past the data's last day."""
    check_label_window_against(last_order_day(con), cutoffs, horizon_days)


def check_label_window_against(
    last_day: datetime | None, cutoffs: Iterable[datetime], horizon_days: int
) -> None:
    """The label-window rule itself, for any engine: `last_day` is the day of the latest order."""
    if last_day is None:
        raise ValueError("cannot label churn: the warehouse has no orders")
    too_late = [c for c in cutoffs if c + timedelta(days=horizon_days) > last_day]
    if too_late:
        raise ValueError(
            f"cannot label churn at cutoff {too_late[0]:%Y-%m-%d %H:%M}: its {horizon_days}-day window "
            f"ends {too_late[0] + timedelta(days=horizon_days):%Y-%m-%d}, after the last order date "
            f"{last_day:%Y-%m-%d}; the latest cutoff allowed is "
            f"{last_day - timedelta(days=horizon_days):%Y-%m-%d}"
        )


def iter_training_set(
    con: duckdb.DuckDBPyConnection,
    cutoffs: Iterable[datetime | date],
    horizon_days: int = 90,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    cutoffs_per_query: int = 1,
) -> Iterator[pd.DataFrame]:
    """The training set in pieces (one per query, in cutoff order), so a caller can stream it to disk:
    every label window is checked before the first piece is computed."""
    moments = sorted({as_cutoff(c) for c in cutoffs})
    if not moments:
        raise ValueError("a training set needs at least one cutoff")
    check_label_window(con, moments, horizon_days)
    for i in range(0, len(moments), cutoffs_per_query):
        frame = _run(con, moments[i : i + cutoffs_per_query], lookback_days, horizon_days)
        yield frame.rename(columns={"as_of": "cutoff"})


def build_training_set(
    con: duckdb.DuckDBPyConnection,
    cutoffs: Iterable[datetime | date],
    horizon_days: int = 90,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    cutoffs_per_query: int = 1,
) -> pd.DataFrame:
    """Snapshots at every cutoff with `churned` = 1 when the customer placed no order in
    [cutoff, cutoff + horizon): columns customer_id, cutoff, churned, then FEATURE_NAMES."""
    frames = list(iter_training_set(con, cutoffs, horizon_days, lookback_days, cutoffs_per_query))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def build_labels(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime | date,
    horizon_days: int = 90,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """customer_id, as_of and churned (0/1) for the customers active at `as_of`."""
    moment = as_cutoff(as_of)
    check_label_window(con, [moment], horizon_days)
    frame = _run(con, [moment], lookback_days, horizon_days)
    return frame[["customer_id", "as_of", "churned"]]


__all__ = [
    "FEATURE_NAMES",
    "as_cutoff",
    "build_labels",
    "build_snapshot",
    "build_training_set",
    "check_label_window",
    "check_label_window_against",
    "features_sql",
    "iter_training_set",
    "last_order_day",
]
