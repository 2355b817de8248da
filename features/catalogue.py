"""The feature catalogue: every feature the model sees, defined once, with its SQL and its meaning.

Training sets, batch scoring and the online /score path all build features from these definitions
(through `features.snapshot`). A feature's SQL runs over the point-in-time views below, which only
hold what could have been known at the cutoff `t`; the views are part of the catalogue, so changing a
known-time rule changes `FEATURE_CATALOGUE_VERSION` just as changing a feature does.

Known-time rules (an event counts at `t` only once it could have been known then):
- an order counts when `ordered_at < t`;
- a cancellation (orders.status = 'cancelled') counts from `ordered_at + 1 day`; before that the order
  is just an order (a shop cancels within a day or ships);
- a delivery outcome counts when `delivered_at < t`; a later `delivered_at` is treated as not yet
  delivered; a delivery is late when it arrived on a later calendar day than the promised one;
- an order whose delivery was promised before `t`'s day and was not delivered by `t` is overdue at
  `t`, whatever happened later;
- a failed delivery (deliveries.status = 'failed') counts from `promised_at + 7 days` if it was not
  delivered by `t` (the status has no time of its own; a week past the promise the failure is known);
- a return (orders.status or deliveries.status = 'returned') counts from 30 days after the goods
  arrived (`delivered_at`; with no arrival recorded, after `promised_at`; with no delivery row, after
  `ordered_at`): the return window of a typical shop, after which the status is settled;
- other statuses ('placed', 'shipped', 'delivered', 'in_transit') carry no time and are never used;
- feedback counts when `created_at < t`; its `text_sentiment` was scored at ingest from the text alone.
The customers table is not used: it has no time of its own, and tenure comes from the first order.

Missing values: a feature whose source table holds nothing known at `t` (no delivery row for an order
placed before `t`; no feedback in the year before `t`) is NaN for everyone, so a model trained on a
shop with orders alone still works. Where the source has data, counts of events the customer did not
have are 0, and a mean, worst or latest value of events they did not have is NaN (see `missing`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final, Literal

from common.names import DELIVERIES, FEEDBACK, ORDERS, ReasonCode

CANCELLATION_KNOWN_DAYS: Final = 1
FAILURE_KNOWN_DAYS: Final = 7
RETURN_KNOWN_DAYS: Final = 30
OPEN_OVERDUE_WINDOW_DAYS: Final = 90  # older undelivered orders are lost parcels, not open ones
MIN_GAP_FOR_RATIO_DAYS: Final = 1.0
RATE_MIN_DAYS: Final = 30
NEGATIVE_RATING_MAX: Final = 2
NEGATIVE_SENTIMENT_MAX: Final = -0.3
SUPPORT_CHANNEL: Final = "ticket"

# `cutoffs(t)` holds the as-of times; each view has one row per (event, cutoff) known at that cutoff.
KNOWN_ORDERS_SQL: Final = f"""
SELECT
    o.customer_id,
    c.t,
    o.order_id,
    o.ordered_at,
    o.amount,
    date_diff('second', o.ordered_at, c.t) / 86400.0 AS days_ago,
    date_diff('second',
        lag(o.ordered_at) OVER (PARTITION BY o.customer_id, c.t ORDER BY o.ordered_at),
        o.ordered_at) / 86400.0 AS gap_days,
    coalesce(o.status = 'cancelled'
        AND o.ordered_at + INTERVAL {CANCELLATION_KNOWN_DAYS} DAY < c.t, false) AS is_cancelled,
    coalesce((o.status = 'returned' OR d.status = 'returned')
        AND coalesce(d.delivered_at, d.promised_at, o.ordered_at)
            + INTERVAL {RETURN_KNOWN_DAYS} DAY < c.t, false) AS is_returned,
    d.order_id IS NOT NULL AS has_delivery,
    d.promised_at,
    coalesce(d.delivered_at < c.t, false) AS is_delivered,
    CASE WHEN d.delivered_at < c.t
        THEN date_diff('second', d.delivered_at, c.t) / 86400.0 END AS delivered_days_ago,
    CASE WHEN d.delivered_at < c.t
        THEN greatest(date_diff('day', d.promised_at::DATE, d.delivered_at::DATE), 0) END AS days_late,
    coalesce(d.delivered_at < c.t AND d.delivered_at::DATE > d.promised_at::DATE, false) AS is_late,
    coalesce(d.status = 'failed' AND d.promised_at + INTERVAL {FAILURE_KNOWN_DAYS} DAY < c.t
        AND NOT coalesce(d.delivered_at < c.t, false), false) AS is_failed,
    coalesce(d.promised_at::DATE < c.t::DATE
        AND NOT coalesce(d.delivered_at < c.t, false), false) AS is_past_promise
FROM orders AS o
JOIN cutoffs AS c ON o.ordered_at < c.t
LEFT JOIN deliveries AS d ON d.order_id = o.order_id
"""

KNOWN_FEEDBACK_SQL: Final = f"""
SELECT
    f.customer_id,
    c.t,
    f.feedback_id,
    f.created_at,
    f.channel,
    f.rating::DOUBLE AS rating,
    f.text_sentiment,
    date_diff('second', f.created_at, c.t) / 86400.0 AS days_ago,
    coalesce(f.rating <= {NEGATIVE_RATING_MAX}, false)
        OR coalesce(f.text_sentiment <= {NEGATIVE_SENTIMENT_MAX}, false) AS is_negative
FROM feedback AS f
JOIN cutoffs AS c ON f.created_at < c.t AND f.created_at >= c.t - INTERVAL 365 DAY
"""

Stage = Literal["orders", "deliveries", "feedback", "derived"]
Fill = Literal["zero", "none"]
Monotone = Literal[-1, 0, 1]
RISING: Final = 1  # one more bad experience, or a longer silence, never makes leaving less likely
FALLING: Final = -1


@dataclass(frozen=True)
class FeatureDefinition:
    """One model input: its name in the shop's language, what it means and how it is computed.

    `stage` says where `sql` runs: "orders" / "deliveries" / "feedback" are aggregates per customer
    and cutoff over the known_orders view (deliveries: its rows with a delivery) or known_feedback;
    "derived" combines other features by name. `fill = "zero"` turns "no such event" into 0 when the
    source table has data at the cutoff; a source without data always gives NaN.
    """

    name: str
    description: str
    source: str  # the warehouse table(s) it comes from; "orders" first: it works on orders alone
    stage: Stage
    sql: str
    missing: str  # what NaN means for this feature
    fill: Fill = "none"
    reason: str | None = None  # the ReasonCode this feature most often explains
    # The direction the model may use it in: +1 more of it never lowers the risk, -1 never raises it,
    # 0 free. Domain knowledge the data is too small to learn reliably; it travels with the name.
    monotone: Monotone = 0


def _orders(name, description, sql, missing="never missing", fill="none", reason=None, monotone=0):
    return FeatureDefinition(
        name, description, ORDERS, "orders", sql, missing, fill, reason, monotone
    )


def _deliveries(name, description, sql, missing, fill="none", reason=None, monotone=0):
    return FeatureDefinition(
        name, description, f"{DELIVERIES}+{ORDERS}", "deliveries", sql, missing, fill, reason,
        monotone,
    )  # fmt: skip


def _feedback(name, description, sql, missing, fill="none", reason=None, monotone=0):
    return FeatureDefinition(
        name, description, FEEDBACK, "feedback", sql, missing, fill, reason, monotone
    )


def _derived(name, description, source, sql, missing, reason=None):
    return FeatureDefinition(name, description, source, "derived", sql, missing, "none", reason)


# "The latest order" without a struct key (3x slower at 10M orders): order time in microseconds,
# scaled so that among orders placed at the same instant the larger value wins, deterministically.
_LATEST_ORDER_KEY = "epoch_us(ordered_at)::HUGEINT * 1000000"
# How late an order is as known at t: days past the promised day it arrived, or days past the promise
# so far while not arrived, 0 while not due; NULL without a delivery row.
_LATENESS_NOW = (
    "CASE WHEN NOT has_delivery THEN NULL WHEN is_delivered THEN days_late"
    " WHEN promised_at::DATE < t::DATE THEN date_diff('day', promised_at::DATE, t::DATE) ELSE 0 END"
)
# An open overdue order: past its promised day, not arrived, not known failed or returned, recent.
_OPEN_OVERDUE = (
    "is_past_promise AND NOT is_failed AND NOT is_returned"
    f" AND promised_at >= t - INTERVAL {OPEN_OVERDUE_WINDOW_DAYS} DAY"
)
_NO_DELIVERIES = "the shop has no delivery rows for orders placed before the cutoff"
_NO_FEEDBACK = "the shop has no feedback in the 365 days before the cutoff"


def _order_window(days: int) -> tuple[FeatureDefinition, FeatureDefinition]:
    return (
        _orders(
            f"orders_{days}d",
            f"Orders placed in the {days} days before the cutoff (cancelled ones included).",
            f"count_if(days_ago <= {days})",
            monotone=FALLING if days <= 90 else 0,  # a recent order never raises the risk
        ),
        _orders(
            f"spend_{days}d",
            f"Value of the orders placed in the {days} days before the cutoff, known cancellations excluded.",
            f"coalesce(sum(amount) FILTER (WHERE days_ago <= {days} AND NOT is_cancelled), 0)",
        ),
    )


FEATURES: Final[tuple[FeatureDefinition, ...]] = (
    # --- orders: recency, tenure, frequency, value -----------------------------------------------
    _orders(
        "days_since_last_order",
        "Days from the customer's latest order to the cutoff.",
        "min(days_ago)",
        reason=ReasonCode.LONG_INACTIVE,
        monotone=RISING,
    ),
    _orders(
        "days_since_first_order",
        "Tenure: days from the customer's first order to the cutoff.",
        "max(days_ago)",
    ),
    _orders(
        "orders_total",
        "Orders placed before the cutoff, ever (cancelled ones included).",
        "count(*)",
        reason=ReasonCode.FEW_ORDERS,
    ),
    *_order_window(30),
    *_order_window(90),
    *_order_window(180),
    *_order_window(365),
    _orders(
        "last_order_amount",
        "Value of the customer's latest order (of orders placed at the same instant, the largest).",
        f"arg_max(amount, {_LATEST_ORDER_KEY} * 1000000000000 + round(amount * 1000)::HUGEINT)",
    ),
    _orders(
        "usual_gap_days",
        "The customer's usual time between orders: median days between consecutive orders, all history.",
        "median(gap_days)",
        missing="only one order before the cutoff (no gap yet)",
    ),
    _orders(
        "cancelled_orders_365d",
        f"Orders placed in the last 365 days that were cancelled (known {CANCELLATION_KNOWN_DAYS} day after ordering).",
        "count_if(days_ago <= 365 AND is_cancelled)",
        reason=ReasonCode.CANCELLED_ORDERS,
    ),
    FeatureDefinition(
        "returned_orders_365d",
        f"Orders placed in the last 365 days that were returned (order or delivery status; known "
        f"{RETURN_KNOWN_DAYS} days after arrival).",
        f"{ORDERS}+{DELIVERIES}",
        "orders",
        "count_if(days_ago <= 365 AND is_returned)",
        "never missing (from orders.status alone when the shop has no deliveries)",
        reason=ReasonCode.RETURNED_ORDER,
    ),
    # --- deliveries -------------------------------------------------------------------------------
    _deliveries(
        "delivered_orders_365d",
        "Deliveries that arrived in the 365 days before the cutoff.",
        "count_if(delivered_days_ago <= 365)",
        _NO_DELIVERIES,
        fill="zero",
    ),
    _deliveries(
        "late_deliveries_90d",
        "Deliveries that arrived after the promised day, in the 90 days before the cutoff.",
        "count_if(is_late AND delivered_days_ago <= 90)",
        _NO_DELIVERIES,
        fill="zero",
        reason=ReasonCode.LATE_DELIVERY,
        monotone=RISING,
    ),
    _deliveries(
        "late_deliveries_365d",
        "Deliveries that arrived after the promised day, in the 365 days before the cutoff.",
        "count_if(is_late AND delivered_days_ago <= 365)",
        _NO_DELIVERIES,
        fill="zero",
        reason=ReasonCode.LATE_DELIVERY,
        monotone=RISING,
    ),
    _deliveries(
        "mean_days_late_365d",
        "Mean days past the promised day over deliveries that arrived in the last 365 days (on time = 0).",
        "avg(days_late) FILTER (WHERE delivered_days_ago <= 365)",
        "no delivery arrived in the 365 days before the cutoff, or " + _NO_DELIVERIES,
        reason=ReasonCode.LATE_DELIVERY,
    ),
    _deliveries(
        "max_days_late_90d",
        "Worst lateness in days of a delivery that arrived in the last 90 days (on time = 0).",
        "max(days_late) FILTER (WHERE delivered_days_ago <= 90)",
        "no delivery arrived in the 90 days before the cutoff, or " + _NO_DELIVERIES,
        reason=ReasonCode.LATE_DELIVERY,
        monotone=RISING,
    ),
    _deliveries(
        "max_days_late_365d",
        "Worst lateness in days of a delivery that arrived in the last 365 days (on time = 0).",
        "max(days_late) FILTER (WHERE delivered_days_ago <= 365)",
        "no delivery arrived in the 365 days before the cutoff, or " + _NO_DELIVERIES,
        reason=ReasonCode.LATE_DELIVERY,
        monotone=RISING,
    ),
    FeatureDefinition(
        "days_late_last_order",
        "Lateness of the customer's latest order as known at the cutoff: days past the promised day it "
        "arrived, or, not arrived yet, days past the promise so far (0 if on time or not yet due); of "
        "orders placed at the same instant, the latest.",
        f"{DELIVERIES}+{ORDERS}",
        "orders",
        f"arg_max_null({_LATENESS_NOW}, {_LATEST_ORDER_KEY}"
        f" + coalesce(least({_LATENESS_NOW}, 999998) + 1, 0))",
        "the latest order has no delivery row (always so when the shop provides no deliveries)",
        reason=ReasonCode.LATE_DELIVERY,
        monotone=RISING,
    ),
    _deliveries(
        "days_since_last_late_delivery",
        "Days since the latest late delivery arrived (all history).",
        "min(delivered_days_ago) FILTER (WHERE is_late)",
        "no late delivery before the cutoff, or " + _NO_DELIVERIES,
        reason=ReasonCode.LATE_DELIVERY,
        monotone=FALLING,
    ),
    _deliveries(
        "failed_deliveries_90d",
        f"Failed deliveries of orders placed in the last 90 days (known {FAILURE_KNOWN_DAYS} days past the promise).",
        "count_if(is_failed AND days_ago <= 90)",
        _NO_DELIVERIES,
        fill="zero",
        reason=ReasonCode.FAILED_DELIVERY,
        monotone=RISING,
    ),
    _deliveries(
        "failed_deliveries_365d",
        f"Failed deliveries of orders placed in the last 365 days (known {FAILURE_KNOWN_DAYS} days past the promise).",
        "count_if(is_failed AND days_ago <= 365)",
        _NO_DELIVERIES,
        fill="zero",
        reason=ReasonCode.FAILED_DELIVERY,
        monotone=RISING,
    ),
    _deliveries(
        "open_overdue_orders",
        f"Orders promised before the cutoff's day, not delivered by the cutoff, not (yet) known as failed "
        f"or returned, promised within the last {OPEN_OVERDUE_WINDOW_DAYS} days.",
        f"count_if({_OPEN_OVERDUE})",
        _NO_DELIVERIES,
        fill="zero",
        reason=ReasonCode.ORDER_OVERDUE,
        monotone=RISING,
    ),
    _deliveries(
        "days_overdue_oldest_open_order",
        "Days past the promise of the oldest open overdue order (0 when none is overdue).",
        f"coalesce(max(date_diff('day', promised_at::DATE, t::DATE)) FILTER (WHERE {_OPEN_OVERDUE}), 0)",
        _NO_DELIVERIES,
        fill="zero",
        reason=ReasonCode.ORDER_OVERDUE,
        monotone=RISING,
    ),
    # --- feedback ---------------------------------------------------------------------------------
    _feedback(
        "feedback_365d",
        "Ratings, reviews, tickets and messages the customer gave in the last 365 days.",
        "count(*)",
        _NO_FEEDBACK,
        fill="zero",
    ),
    _feedback(
        "mean_rating_365d",
        "Mean star rating (1-5) given in the last 365 days.",
        "avg(rating)",
        "no rating in the 365 days before the cutoff",
        reason=ReasonCode.LOW_RATING,
        monotone=FALLING,
    ),
    _feedback(
        "worst_rating_90d",
        "Lowest star rating given in the last 90 days.",
        "min(rating) FILTER (WHERE days_ago <= 90)",
        "no rating in the 90 days before the cutoff",
        reason=ReasonCode.LOW_RATING,
        monotone=FALLING,
    ),
    _feedback(
        "last_rating",
        "The latest star rating given in the last 365 days.",
        "arg_max(rating, {'at': created_at, 'id': feedback_id})",
        "no rating in the 365 days before the cutoff",
        reason=ReasonCode.LOW_RATING,
        monotone=FALLING,
    ),
    _feedback(
        "mean_text_sentiment_365d",
        "Mean sentiment (-1 angry .. 1 delighted) of texts written in the last 365 days.",
        "avg(text_sentiment)",
        "no scored text in the 365 days before the cutoff",
        reason=ReasonCode.NEGATIVE_FEEDBACK,
    ),
    _feedback(
        "min_text_sentiment_90d",
        "Most negative sentiment of a text written in the last 90 days.",
        "min(text_sentiment) FILTER (WHERE days_ago <= 90)",
        "no scored text in the 90 days before the cutoff",
        reason=ReasonCode.NEGATIVE_FEEDBACK,
    ),
    _feedback(
        "last_text_sentiment",
        "Sentiment of the latest text written in the last 365 days.",
        "arg_max(text_sentiment, {'at': created_at, 'id': feedback_id})",
        "no scored text in the 365 days before the cutoff",
        reason=ReasonCode.NEGATIVE_FEEDBACK,
    ),
    _feedback(
        "negative_feedback_90d",
        f"Negative feedback in the last 90 days: a rating <= {NEGATIVE_RATING_MAX} or a text with "
        f"sentiment <= {NEGATIVE_SENTIMENT_MAX}.",
        "count_if(is_negative AND days_ago <= 90)",
        _NO_FEEDBACK,
        fill="zero",
        reason=ReasonCode.NEGATIVE_FEEDBACK,
        monotone=RISING,
    ),
    _feedback(
        "negative_feedback_365d",
        "Negative feedback (see negative_feedback_90d) in the last 365 days.",
        "count_if(is_negative)",
        _NO_FEEDBACK,
        fill="zero",
        reason=ReasonCode.NEGATIVE_FEEDBACK,
        monotone=RISING,
    ),
    _feedback(
        "support_tickets_90d",
        f"Feedback on the '{SUPPORT_CHANNEL}' channel in the last 90 days.",
        f"count_if(channel = '{SUPPORT_CHANNEL}' AND days_ago <= 90)",
        _NO_FEEDBACK,
        fill="zero",
        reason=ReasonCode.SUPPORT_TICKETS,
        monotone=RISING,
    ),
    _feedback(
        "days_since_last_negative_feedback",
        "Days since the customer's latest negative feedback within the last 365 days.",
        "min(days_ago) FILTER (WHERE is_negative)",
        "no negative feedback in the 365 days before the cutoff",
        reason=ReasonCode.NEGATIVE_FEEDBACK,
    ),
    # --- derived: scale-free ratios and the inputs of value at risk -------------------------------
    _derived(
        "avg_order_value",
        "Average value of the orders of the last 365 days that were not cancelled (value at risk input).",
        ORDERS,
        "spend_365d / nullif(orders_365d - cancelled_orders_365d, 0)",
        "every order of the last 365 days was cancelled (or none was placed)",
    ),
    _derived(
        "orders_per_day_365d",
        f"Order rate over the last 365 days: orders_365d per day the customer was known in that year "
        f"(at least {RATE_MIN_DAYS} days) — value at risk = rate x horizon x avg_order_value.",
        ORDERS,
        f"orders_365d / least(365.0, greatest(days_since_first_order, {RATE_MIN_DAYS}.0))",
        "never missing",
    ),
    # Scale-free: they mean the same at a tenure the training rows never reached (a single cohort
    # scored a horizon after its last labelled cutoff), where raw tenure and counts extrapolate badly.
    _derived(
        "recency_over_tenure",
        "Days since the latest order divided by the tenure (floored at 1 day): 0 = just ordered, "
        "1 = nothing since the first order.",
        ORDERS,
        "days_since_last_order / greatest(days_since_first_order, 1.0)",
        "never missing",
        reason=ReasonCode.LONG_INACTIVE,
    ),
    _derived(
        "orders_per_30d_of_tenure",
        f"Orders per 30 days since the first order (tenure floored at {RATE_MIN_DAYS} days): the "
        "customer's own buying rate.",
        ORDERS,
        f"30.0 * orders_total / greatest(days_since_first_order, {RATE_MIN_DAYS}.0)",
        "never missing",
    ),
    _derived(
        "days_overdue_vs_usual_gap",
        "Days since the latest order minus the usual gap (positive: later than usual).",
        ORDERS,
        "days_since_last_order - usual_gap_days",
        "only one order before the cutoff",
        reason=ReasonCode.OVERDUE_VS_USUAL_GAP,
    ),
    _derived(
        "ratio_since_last_order_to_usual_gap",
        f"Days since the latest order divided by the usual gap (floored at {MIN_GAP_FOR_RATIO_DAYS} day); "
        "1 = on schedule.",
        ORDERS,
        "days_since_last_order"
        f" / CASE WHEN usual_gap_days IS NOT NULL THEN greatest(usual_gap_days, {MIN_GAP_FOR_RATIO_DAYS}) END",
        "only one order before the cutoff",
        reason=ReasonCode.OVERDUE_VS_USUAL_GAP,
    ),
    _derived(
        "order_rate_trend_90d_vs_365d",
        "Order rate of the last 90 days divided by the rate of the last 365 days (< 1: slowing down).",
        ORDERS,
        "(orders_90d / 90.0) / nullif(orders_365d / 365.0, 0)",
        "no order in the last 365 days (only with lookback > 365)",
        reason=ReasonCode.DECLINING_ACTIVITY,
    ),
    _derived(
        "spend_trend_90d_vs_365d",
        "Spend per day over the last 90 days divided by spend per day over the last 365 days.",
        ORDERS,
        "(spend_90d / 90.0) / nullif(spend_365d / 365.0, 0)",
        "no spend in the last 365 days (every order cancelled or free)",
        reason=ReasonCode.DECLINING_ACTIVITY,
    ),
    _derived(
        "orders_change_90d_vs_prior_90d",
        "Orders of the last 90 days minus orders of the 90 days before those.",
        ORDERS,
        "orders_90d - (orders_180d - orders_90d)",
        "never missing",
        reason=ReasonCode.DECLINING_ACTIVITY,
    ),
    _derived(
        "share_cancelled_orders_365d",
        "Share of the last 365 days' orders that were cancelled.",
        ORDERS,
        "cancelled_orders_365d / nullif(orders_365d, 0)",
        "no order in the last 365 days (only with lookback > 365)",
        reason=ReasonCode.CANCELLED_ORDERS,
    ),
    _derived(
        "share_returned_orders_365d",
        "Share of the last 365 days' orders that were returned.",
        f"{ORDERS}+{DELIVERIES}",
        "returned_orders_365d / nullif(orders_365d, 0)",
        "no order in the last 365 days (only with lookback > 365)",
        reason=ReasonCode.RETURNED_ORDER,
    ),
    _derived(
        "share_late_deliveries_365d",
        "Share of the deliveries that arrived in the last 365 days that were late.",
        f"{DELIVERIES}+{ORDERS}",
        "late_deliveries_365d / nullif(delivered_orders_365d, 0)",
        "no delivery arrived in the last 365 days, or " + _NO_DELIVERIES,
        reason=ReasonCode.LATE_DELIVERY,
    ),
    _derived(
        "share_negative_feedback_365d",
        "Share of the last 365 days' feedback that was negative.",
        FEEDBACK,
        "negative_feedback_365d / nullif(feedback_365d, 0)",
        "no feedback from the customer in the last 365 days, or " + _NO_FEEDBACK,
        reason=ReasonCode.NEGATIVE_FEEDBACK,
    ),
)

FEATURE_NAMES: Final[tuple[str, ...]] = tuple(f.name for f in FEATURES)
FEATURES_BY_NAME: Final[dict[str, FeatureDefinition]] = {f.name: f for f in FEATURES}
# The features that can be below zero (sentiment, differences); every other one is a count, an
# amount, a number of days, a rating, a share or a ratio, so a negative value is nonsense.
SIGNED_FEATURES: Final[frozenset[str]] = frozenset(
    {
        "mean_text_sentiment_365d",
        "min_text_sentiment_90d",
        "last_text_sentiment",
        "days_overdue_vs_usual_gap",
        "orders_change_90d_vs_prior_90d",
    }
)


def features_from(tables: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The features whose every source table is among `tables` (the tables a shop gave rows for).

    A feature of an empty table is NaN for everyone: the model cannot learn from it, and offering it
    anyway only dilutes LightGBM's per-tree feature sampling (measured: it cost the orders-only model
    its margin over BG/NBD). `features_from({ORDERS})` is the orders-only model's list.
    """
    return tuple(f.name for f in FEATURES if set(f.source.split("+")) <= set(tables))


def _catalogue_version() -> str:
    digest = hashlib.sha256()
    for text in (KNOWN_ORDERS_SQL, KNOWN_FEEDBACK_SQL):
        digest.update(text.encode())
    for feature in FEATURES:
        digest.update(f"{feature.name}|{feature.stage}|{feature.fill}|{feature.sql}\n".encode())
    return digest.hexdigest()[:12]


FEATURE_CATALOGUE_VERSION: Final = _catalogue_version()

if len(set(FEATURE_NAMES)) != len(FEATURE_NAMES):  # a duplicate would silently shadow a column
    raise RuntimeError(f"duplicate feature names in the catalogue: {FEATURE_NAMES}")
