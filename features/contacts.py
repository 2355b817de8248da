"""The outreach history as the warehouse holds it: the contract's `contacts` table, plus whatever
history the caller adds (the queue store's worked items and control group), and the point-in-time
features of each contact, for the uplift model.

Every contact counts once, treated or control; a caller's rows use the same columns as the contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from common.names import CONTACTS
from features.contract import CONTRACT
from features.snapshot import DEFAULT_LOOKBACK_DAYS, build_training_set, last_order_day

CONTACT_COLUMNS = CONTRACT[CONTACTS].column_names


def read_contacts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every contact the shop imported (CONTACT_COLUMNS), oldest first."""
    columns = ", ".join(CONTRACT[CONTACTS].column(c).sql for c in CONTACT_COLUMNS)
    return con.execute(f"SELECT {columns} FROM {CONTACTS} ORDER BY contacted_at, contact_id").df()


def combine_history(imported: pd.DataFrame, worked: pd.DataFrame | None) -> pd.DataFrame:
    """One outreach history: the imported contacts and the shop's own worked queue (same columns);
    a contact id that appears in both is counted once (the imported row wins)."""
    frames = [imported[list(CONTACT_COLUMNS)]]
    if worked is not None and not worked.empty:
        frames.append(worked[list(CONTACT_COLUMNS)])
    history = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy()
    history["contacted_at"] = pd.to_datetime(history["contacted_at"])
    history = history.drop_duplicates("contact_id", keep="first")
    return history.sort_values(["contacted_at", "contact_id"], kind="mergesort").reset_index(
        drop=True
    )


def contacted_within(history: pd.DataFrame, as_of: date, days: int) -> frozenset[str]:
    """Customers contacted, or held out as control, in the `days` days before `as_of` (the day
    itself included, as the queue store counts a cooldown)."""
    if days <= 0 or history.empty:
        return frozenset()
    since = datetime.combine(as_of - timedelta(days=days - 1), datetime.min.time())
    until = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    moments = pd.to_datetime(history["contacted_at"])
    recent = (moments >= since) & (moments < until)
    return frozenset(history.loc[recent, "customer_id"].astype(str))


def silent_since_contact(
    history: pd.DataFrame,
    customer_ids: pd.Series,
    days_since_last_order: pd.Series,
    as_of: date,
    min_days: int,
    usual_gap_days: pd.Series | None = None,
) -> frozenset[str]:
    """Customers contacted (treated) at least `min_days` before `as_of`, and at least their usual
    gap between orders (`usual_gap_days`, rows as `customer_ids`; unknown: `min_days`), who have not
    ordered since their latest contact: it did not bring them back, or drove them away. A customer
    who orders every two months is not silent a month after a contact; they are not due yet."""
    treated = history[history["group"] == "treated"]
    if treated.empty:
        return frozenset()
    latest = (
        pd.to_datetime(treated["contacted_at"]).groupby(treated["customer_id"].astype(str)).max()
    )
    moment = pd.Timestamp(as_of)
    index = customer_ids.astype(str).to_numpy()
    last_order = pd.Series(
        moment - pd.to_timedelta(days_since_last_order.to_numpy(), unit="D"), index=index
    )
    wait = np.full(len(index), float(min_days))
    if usual_gap_days is not None:
        wait = np.fmax(wait, usual_gap_days.to_numpy(dtype="float64"))
    contacted = latest.reindex(last_order.index)
    silent = contacted.notna() & (
        contacted <= moment - pd.to_timedelta(wait, unit="D")
    )
    silent &= last_order < contacted
    return frozenset(last_order.index[silent.to_numpy()])


def contact_features(
    con: duckdb.DuckDBPyConnection,
    history: pd.DataFrame,
    horizon_days: int,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> pd.DataFrame:
    """Per contact whose horizon has passed: the catalogue's features at the start of its day (what
    was known before it), `churned` (no order in [day, day + horizon)), plus contact_id, group and
    playbook. Contacts of customers with no order in the lookback before that day are left out:
    they are not customers the queue could rank."""
    last_day = last_order_day(con)
    if history.empty or last_day is None:
        return pd.DataFrame()
    days = pd.to_datetime(history["contacted_at"]).dt.normalize()
    ended = days + pd.Timedelta(days=horizon_days) <= pd.Timestamp(last_day)
    history = history.loc[ended].assign(cutoff=days[ended])
    cutoffs: Sequence[datetime] = sorted({d.to_pydatetime() for d in history["cutoff"]})
    if not cutoffs:
        return pd.DataFrame()
    frame = build_training_set(con, cutoffs, horizon_days, lookback_days, cutoffs_per_query=8)
    frame["cutoff"] = pd.to_datetime(frame["cutoff"])
    keep = ["contact_id", "customer_id", "cutoff", "group", "playbook"]
    joined = (
        history[keep]
        .astype({"customer_id": str})
        .merge(frame, on=["customer_id", "cutoff"], how="inner")
    )
    return joined.sort_values(["cutoff", "contact_id"], kind="mergesort").reset_index(drop=True)


__all__ = [
    "CONTACT_COLUMNS",
    "combine_history",
    "contact_features",
    "contacted_within",
    "read_contacts",
    "silent_since_contact",
]
