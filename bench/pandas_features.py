"""The catalogue's features written the straightforward pandas way: merge, flag, groupby.

The baseline the DuckDB snapshot is measured against, and an independent second implementation of
the same definitions (tests check both give the same numbers on a small shop).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from features.catalogue import (
    CANCELLATION_KNOWN_DAYS,
    FAILURE_KNOWN_DAYS,
    FEATURE_NAMES,
    MIN_GAP_FOR_RATIO_DAYS,
    NEGATIVE_RATING_MAX,
    NEGATIVE_SENTIMENT_MAX,
    OPEN_OVERDUE_WINDOW_DAYS,
    RATE_MIN_DAYS,
    RETURN_KNOWN_DAYS,
    SUPPORT_CHANNEL,
)

DAY = pd.Timedelta(days=1)


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 86400.0


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator != 0)


def pandas_snapshot(
    orders: pd.DataFrame,
    deliveries: pd.DataFrame,
    feedback: pd.DataFrame,
    as_of: datetime,
    lookback_days: int = 365,
) -> pd.DataFrame:
    """Same columns and values as `features.snapshot.build_snapshot`, computed in pandas."""
    t = pd.Timestamp(as_of)
    midnight = t.normalize()
    o = orders.loc[
        orders["ordered_at"] < t, ["order_id", "customer_id", "ordered_at", "amount", "status"]
    ]
    d = deliveries[["order_id", "promised_at", "delivered_at", "status"]].rename(
        columns={"status": "delivery_status"}
    )
    o = o.merge(d, on="order_id", how="left", indicator=True)
    o = o.sort_values(["customer_id", "ordered_at", "order_id"], ignore_index=True)
    customer = o["customer_id"]
    by = o.groupby("customer_id", sort=True)

    days_ago = _days(t - o["ordered_at"])
    gap_days = _days(by["ordered_at"].diff())
    has_delivery = o["_merge"] == "both"
    delivered = o["delivered_at"] < t
    delivered_days_ago = _days(t - o["delivered_at"]).where(delivered)
    promised_day = o["promised_at"].dt.normalize()
    arrival_day = o["delivered_at"].dt.normalize()
    days_late = ((arrival_day - promised_day).dt.days.clip(lower=0)).where(delivered)
    late = delivered & (arrival_day > promised_day)
    cancelled = (o["status"] == "cancelled") & (o["ordered_at"] + CANCELLATION_KNOWN_DAYS * DAY < t)
    returned_from = o["delivered_at"].fillna(o["promised_at"]).fillna(o["ordered_at"])
    returned = ((o["status"] == "returned") | (o["delivery_status"] == "returned")) & (
        returned_from + RETURN_KNOWN_DAYS * DAY < t
    )
    failed = (
        (o["delivery_status"] == "failed")
        & (o["promised_at"] + FAILURE_KNOWN_DAYS * DAY < t)
        & ~delivered
    )
    past_promise = has_delivery & (promised_day < midnight) & ~delivered
    days_past_promise = (midnight - promised_day).dt.days.astype("float64")
    open_overdue = (
        past_promise
        & ~failed
        & ~returned
        & (o["promised_at"] >= t - OPEN_OVERDUE_WINDOW_DAYS * DAY)
    )
    lateness_now = pd.Series(
        np.select(
            [~has_delivery, delivered, promised_day < midnight],
            [np.nan, days_late, days_past_promise],
            0.0,
        ),
        index=o.index,
    )

    def count(mask: pd.Series) -> pd.Series:
        return mask.groupby(customer).sum().astype("float64")

    def total(values: pd.Series, mask: pd.Series) -> pd.Series:
        return values.where(mask, 0.0).groupby(customer).sum()

    out = pd.DataFrame(index=by.size().index)
    out["days_since_last_order"] = days_ago.groupby(customer).min()
    out["days_since_first_order"] = days_ago.groupby(customer).max()
    out["orders_total"] = by.size().astype("float64")
    amount = o["amount"].astype("float64")
    for window in (30, 90, 180, 365):
        in_window = days_ago <= window
        out[f"orders_{window}d"] = count(in_window)
        out[f"spend_{window}d"] = total(amount, in_window & ~cancelled)
    # the latest order; of orders placed at the same instant, the largest value (as the catalogue says)
    at_latest = o["ordered_at"] == by["ordered_at"].transform("max")
    out["last_order_amount"] = (
        o["amount"].astype("float64").where(at_latest).groupby(customer).max()
    )
    out["usual_gap_days"] = gap_days.groupby(customer).median()
    out["cancelled_orders_365d"] = count((days_ago <= 365) & cancelled)
    out["returned_orders_365d"] = count((days_ago <= 365) & returned)
    out["days_late_last_order"] = lateness_now.where(at_latest).groupby(customer).max()

    shop_has_deliveries = bool(has_delivery.any())
    with_delivery = customer.where(has_delivery)
    delivery_flags = {
        "delivered_orders_365d": delivered_days_ago <= 365,
        "late_deliveries_90d": late & (delivered_days_ago <= 90),
        "late_deliveries_365d": late & (delivered_days_ago <= 365),
        "failed_deliveries_90d": failed & (days_ago <= 90),
        "failed_deliveries_365d": failed & (days_ago <= 365),
        "open_overdue_orders": open_overdue,
    }
    delivery = pd.DataFrame(index=out.index)
    for name, mask in delivery_flags.items():
        delivery[name] = mask.groupby(with_delivery).sum().astype("float64")
    arrived_365 = days_late.where(delivered_days_ago <= 365)
    delivery["mean_days_late_365d"] = arrived_365.groupby(with_delivery).mean()
    delivery["max_days_late_90d"] = (
        days_late.where(delivered_days_ago <= 90).groupby(with_delivery).max()
    )
    delivery["max_days_late_365d"] = arrived_365.groupby(with_delivery).max()
    delivery["days_since_last_late_delivery"] = (
        delivered_days_ago.where(late).groupby(with_delivery).min()
    )
    delivery["days_overdue_oldest_open_order"] = (
        days_past_promise.where(open_overdue, 0.0).groupby(with_delivery).max()
    )
    counted = [*delivery_flags, "days_overdue_oldest_open_order"]
    if shop_has_deliveries:
        delivery[counted] = delivery[counted].fillna(0.0)
    else:
        delivery[:] = np.nan
    out = out.join(delivery)

    f = feedback.loc[
        (feedback["created_at"] < t) & (feedback["created_at"] >= t - 365 * DAY),
        ["feedback_id", "customer_id", "created_at", "channel", "rating", "text_sentiment"],
    ].sort_values(["customer_id", "created_at", "feedback_id"])
    rating = f["rating"].astype("float64")
    sentiment = f["text_sentiment"].astype("float64")
    f_days_ago = _days(t - f["created_at"])
    negative = (rating <= NEGATIVE_RATING_MAX).fillna(False) | (
        sentiment <= NEGATIVE_SENTIMENT_MAX
    ).fillna(False)
    who = f["customer_id"]
    voice = pd.DataFrame(index=out.index)
    voice["feedback_365d"] = who.groupby(who).size().astype("float64")
    voice["mean_rating_365d"] = rating.groupby(who).mean()
    voice["worst_rating_90d"] = rating.where(f_days_ago <= 90).groupby(who).min()
    voice["last_rating"] = rating.groupby(who).last()
    voice["mean_text_sentiment_365d"] = sentiment.groupby(who).mean()
    voice["min_text_sentiment_90d"] = sentiment.where(f_days_ago <= 90).groupby(who).min()
    voice["last_text_sentiment"] = sentiment.groupby(who).last()
    voice["negative_feedback_90d"] = (negative & (f_days_ago <= 90)).groupby(who).sum()
    voice["negative_feedback_365d"] = negative.groupby(who).sum()
    voice["support_tickets_90d"] = (
        ((f["channel"] == SUPPORT_CHANNEL).fillna(False) & (f_days_ago <= 90)).groupby(who).sum()
    )
    voice["days_since_last_negative_feedback"] = f_days_ago.where(negative).groupby(who).min()
    counted = [
        "feedback_365d",
        "negative_feedback_90d",
        "negative_feedback_365d",
        "support_tickets_90d",
    ]
    voice = voice.astype("float64")
    if len(f):
        voice[counted] = voice[counted].fillna(0.0)
    else:
        voice[:] = np.nan
    out = out.join(voice)

    out["avg_order_value"] = _ratio(
        out["spend_365d"], out["orders_365d"] - out["cancelled_orders_365d"]
    )
    out["orders_per_day_365d"] = out["orders_365d"] / out["days_since_first_order"].clip(
        lower=RATE_MIN_DAYS, upper=365
    )
    out["recency_over_tenure"] = out["days_since_last_order"] / out["days_since_first_order"].clip(
        lower=1.0
    )
    out["orders_per_30d_of_tenure"] = (
        30.0 * out["orders_total"] / out["days_since_first_order"].clip(lower=RATE_MIN_DAYS)
    )
    out["days_overdue_vs_usual_gap"] = out["days_since_last_order"] - out["usual_gap_days"]
    out["ratio_since_last_order_to_usual_gap"] = out["days_since_last_order"] / out[
        "usual_gap_days"
    ].clip(lower=MIN_GAP_FOR_RATIO_DAYS)
    out["order_rate_trend_90d_vs_365d"] = _ratio(
        out["orders_90d"] / 90.0, out["orders_365d"] / 365.0
    )
    out["spend_trend_90d_vs_365d"] = _ratio(out["spend_90d"] / 90.0, out["spend_365d"] / 365.0)
    out["orders_change_90d_vs_prior_90d"] = out["orders_90d"] - (
        out["orders_180d"] - out["orders_90d"]
    )
    out["share_cancelled_orders_365d"] = _ratio(out["cancelled_orders_365d"], out["orders_365d"])
    out["share_returned_orders_365d"] = _ratio(out["returned_orders_365d"], out["orders_365d"])
    out["share_late_deliveries_365d"] = _ratio(
        out["late_deliveries_365d"], out["delivered_orders_365d"]
    )
    out["share_negative_feedback_365d"] = _ratio(
        out["negative_feedback_365d"], out["feedback_365d"]
    )

    out = out[out["days_since_last_order"] <= lookback_days]
    out = out[list(FEATURE_NAMES)].astype("float64")
    out.insert(0, "as_of", t.as_unit("us"))
    out.index.name = "customer_id"
    return out.reset_index()
