"""Turn a simulation into the contract's Parquet tables (plus the ground truth) on disk.

Everything is built as Arrow arrays straight from numpy (ids from digit arithmetic, categories and
texts by `take`), so ten million orders never become Python objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.names import CONTACTS, CUSTOMERS, DELIVERIES, FEEDBACK, ORDERS
from features.contract import (
    CONTACT_CHANNELS,
    CONTACT_GROUPS,
    CONTRACT,
    DELIVERY_STATUSES,
    FEEDBACK_CHANNELS,
    ORDER_STATUSES,
)
from shopsim.config import CAMPAIGN_PLAYBOOKS, ShopConfig
from shopsim.contacts import Response
from shopsim.simulation import NO_DELIVERY, Simulation
from shopsim.texts import render_texts

TRUTH_DIR = "truth"
TRUTH_FILE = "churn_probability.parquet"
TIMESTAMP = pa.timestamp("us")
_COMPRESSION = "zstd"


def table_path(out_dir: Path, table: str) -> Path:
    """Where the writer puts one contract table."""
    return Path(out_dir) / f"{table}.parquet"


def truth_path(out_dir: Path) -> Path:
    """Where the writer puts the simulator's churn probabilities."""
    return Path(out_dir) / TRUTH_DIR / TRUTH_FILE


def effect_column(playbook: str) -> str:
    """Truth column of the drop in churn probability a contact with `playbook` at as_of causes."""
    return f"effect_{playbook}"


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """Fixed-width ids like C0000001 for 1-based numbers, widened if a number needs more digits."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.size:
        width = max(width, len(str(int(numbers.max()))))
    head = len(prefix)
    row = head + width
    chars = np.empty((numbers.size, row), dtype=np.uint8)
    chars[:, :head] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    for k in range(width):
        chars[:, head + k] = (numbers // 10 ** (width - 1 - k)) % 10 + ord("0")
    offsets = np.arange(numbers.size + 1, dtype=np.int64) * row
    return pa.LargeStringArray.from_buffers(
        numbers.size, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())
    ).cast(pa.string())


def timestamps(config: ShopConfig, days: np.ndarray) -> pa.TimestampArray:
    """Float days since the start as naive UTC timestamps to the second (floored, so nothing crosses
    a midnight the simulation drew it before); NaN becomes null."""
    days = np.asarray(days, dtype=np.float64)
    missing = np.isnan(days)
    start_us = np.datetime64(config.start, "us").astype(np.int64)
    seconds = np.floor(np.where(missing, 0.0, days) * 86_400.0).astype(np.int64)
    return pa.array(start_us + seconds * 1_000_000, type=TIMESTAMP, mask=missing)


def _categories(
    values: tuple[str, ...], codes: np.ndarray, missing: np.ndarray | None = None
) -> pa.Array:
    return pa.array(list(values), type=pa.string()).take(
        pa.array(codes.astype(np.int32), mask=missing)
    )


def contact_ids(config: ShopConfig, outreach: np.ndarray) -> pa.Array:
    """K numbers by row, except the shop's own contacts that carry their own id (the queue store's,
    so a shop exporting its contacts and churnguard's store name one contact once)."""
    numbered = ids("K", np.arange(1, outreach.size + 1), 7)
    own = [config.outreach[i].contact_id if i >= 0 else None for i in outreach]
    if all(contact_id is None for contact_id in own):
        return numbered
    return pa.array(
        [
            k if contact_id is None else contact_id
            for k, contact_id in zip(numbered.to_pylist(), own, strict=True)
        ],
        type=pa.string(),
    )


UNSTATED_LANGUAGE_SHARE = 0.2  # customers whose language the shop never recorded


def customer_languages(config: ShopConfig) -> pa.Array:
    """The shop's language for most customers, empty for some (churnguard then reads their texts).

    Its own generator, so the simulation's draws do not move."""
    rng = np.random.default_rng([config.seed, 2])
    unstated = rng.random(config.customers) < UNSTATED_LANGUAGE_SHARE
    return pa.array(
        np.full(config.customers, config.language, dtype=object), pa.string(), mask=unstated
    )


def build_tables(config: ShopConfig, sim: Simulation) -> Iterator[tuple[str, pa.Table]]:
    """The five contract tables and the truth, one at a time so only one is in memory at once."""
    cust, orders, feedback, truth = sim.customers, sim.orders, sim.feedback, sim.truth
    customer_ids = ids("C", np.arange(1, config.customers + 1), 7)
    order_ids = ids("O", np.arange(1, orders.customer.size + 1), 8)

    yield (
        CUSTOMERS,
        pa.table(
            {
                "customer_id": customer_ids,
                "signup_at": timestamps(config, cust.signup_day),
                "region": _categories(tuple(r.name for r in config.regions), cust.region),
                "preferred_channel": _categories(CONTACT_CHANNELS, cust.preferred_channel),
                "consent_email": pa.array(cust.consent_email, type=pa.bool_()),
                "consent_phone": pa.array(cust.consent_phone, type=pa.bool_()),
                "consent_sms": pa.array(cust.consent_sms, type=pa.bool_()),
                "language": customer_languages(config),
            }
        ),
    )
    yield (
        ORDERS,
        pa.table(
            {
                "order_id": order_ids,
                "customer_id": customer_ids.take(pa.array(orders.customer)),
                "ordered_at": timestamps(config, orders.ordered_day),
                "amount": pa.array(orders.amount, type=pa.float64()),
                "status": _categories(ORDER_STATUSES, orders.status),
            }
        ),
    )
    shipped = np.flatnonzero(orders.delivery_status != NO_DELIVERY)
    yield (
        DELIVERIES,
        pa.table(
            {
                "order_id": order_ids.take(pa.array(shipped)),
                "promised_at": timestamps(config, orders.promised_day[shipped]),
                "delivered_at": timestamps(config, orders.delivered_day[shipped]),
                "status": _categories(DELIVERY_STATUSES, orders.delivery_status[shipped]),
            }
        ),
    )
    del shipped
    # Texts get their own generator so adding a template never shifts the simulation's draws.
    text_rng = np.random.default_rng([config.seed, 1])
    yield (
        FEEDBACK,
        pa.table(
            {
                "feedback_id": ids("F", np.arange(1, feedback.customer.size + 1), 8),
                "customer_id": customer_ids.take(pa.array(feedback.customer)),
                "order_id": order_ids.take(pa.array(feedback.order, mask=feedback.order < 0)),
                "created_at": timestamps(config, feedback.created_day),
                "channel": _categories(FEEDBACK_CHANNELS, feedback.channel),
                "rating": pa.array(feedback.rating.astype(np.int32), mask=feedback.rating == 0),
                "text": render_texts(
                    feedback.text_bucket, text_rng, feedback.has_text, config.language
                ),
            }
        ),
    )
    contacts = sim.contacts
    yield (
        CONTACTS,
        pa.table(
            {
                "contact_id": contact_ids(config, contacts.outreach),
                "customer_id": customer_ids.take(pa.array(contacts.customer)),
                "contacted_at": timestamps(config, contacts.day),
                "group": _categories(CONTACT_GROUPS, (~contacts.treated).astype(np.int8)),
                "playbook": _categories(CAMPAIGN_PLAYBOOKS, contacts.playbook),
                "channel": _categories(
                    CONTACT_CHANNELS,
                    cust.preferred_channel[contacts.customer],
                    missing=~contacts.treated,
                ),
                "outcome": pa.nulls(contacts.customer.size, type=pa.string()),
            }
        ),
    )
    effect_columns = {
        effect_column(name): pa.array(truth.effect[:, k], type=pa.float64())
        for k, name in enumerate(CAMPAIGN_PLAYBOOKS)
    }
    yield (
        TRUTH_DIR,
        pa.table(
            {
                "customer_id": customer_ids.take(pa.array(truth.customer)),
                "as_of": timestamps(config, truth.as_of_day.astype(np.float64)),
                "horizon_days": pa.array(
                    np.full(truth.customer.size, config.truth_horizon_days, dtype=np.int32)
                ),
                "churn_probability": pa.array(truth.churn_probability, type=pa.float64()),
                "response": _categories(tuple(r.name.lower() for r in Response), truth.response),
                **effect_columns,
            }
        ),
    )


def write_shop(config: ShopConfig, sim: Simulation, out_dir: Path) -> dict[str, Path]:
    """Write the contract tables and the truth; return the file of each (truth under "truth").
    Contacts are written only when the shop ran campaigns or made contacts: the table is optional."""
    out_dir = Path(out_dir)
    (out_dir / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, table in build_tables(config, sim):
        if name == CONTACTS and table.num_rows == 0:
            continue  # a shop that ran no campaign has no outreach history to hand over
        if name in CONTRACT and table.column_names != list(CONTRACT[name].column_names):
            raise AssertionError(
                f"{name}: built columns {table.column_names}, "
                f"contract says {list(CONTRACT[name].column_names)}"
            )
        files[name] = truth_path(out_dir) if name == TRUTH_DIR else table_path(out_dir, name)
        pq.write_table(table, files[name], compression=_COMPRESSION)
        del table
    return files
