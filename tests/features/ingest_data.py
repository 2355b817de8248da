"""Small hand-made input files for the ingest tests: good rows with one bad row per rule among them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

HEADERS = {
    "orders": ["order_id", "customer_id", "ordered_at", "amount", "status", "note"],
    "customers": [
        "customer_id",
        "signup_at",
        "region",
        "preferred_channel",
        "consent_email",
        "consent_phone",
        "consent_sms",
        "language",
    ],
    "deliveries": ["order_id", "promised_at", "delivered_at", "status"],
    "feedback": [
        "feedback_id",
        "customer_id",
        "order_id",
        "created_at",
        "channel",
        "rating",
        "text",
    ],
    "contacts": [
        "contact_id",
        "customer_id",
        "contacted_at",
        "group",
        "playbook",
        "channel",
        "outcome",
    ],
}

# (cells, rules the row breaks); cells may be bytes to carry invalid UTF-8
ROWS: dict[str, list[tuple[list[str | bytes], list[str]]]] = {
    "orders": [
        (["o1", "c1", "2024-01-01T10:00:00", "10.0", "delivered", "extra is ignored"], []),
        (["o2", "c1", "2024-01-02T10:00:00+02:00", "20.5", "placed", ""], []),
        (["o3", "c2", "2024-01-03 09:00:00", "12", "", ""], []),
        (["o4", "c2", "2024-01-04T09:00:00Z", "0", "shipped", ""], []),
        (["b1", "c2", "2024-01-03 09:00:00", "abc", "placed", ""], ["orders.amount.parses"]),
        (["b2", "c2", "yesterday", "5", "placed", ""], ["orders.ordered_at.parses"]),
        (["b3", "c2", "2024-01-05", "-1", "placed", ""], ["orders.amount.in_range"]),
        (["b4", "c2", "2024-01-06", "5", "lost", ""], ["orders.status.allowed"]),
        (
            ["o1", "c1", "2024-01-01T10:00:00", "10.0", "delivered", "copy"],
            ["orders.order_id.unique"],
        ),
        (["", "c3", "2024-01-07", "5", "placed", ""], ["orders.order_id.present"]),
        (["b5", "", "2024-01-07", "5", "placed", ""], ["orders.customer_id.present"]),
        (["b6", "c3", "", "5", "placed", ""], ["orders.ordered_at.present"]),
        (["b7", "c3", "2024-01-08", " ", "placed", ""], ["orders.amount.present"]),
        ([b"b8", b"c3\xff", b"2024-01-09", b"7", b"shipped", b""], ["orders.utf8"]),
        (
            ["b9", "c3", "2024-01-09", "-2", "lost", ""],
            ["orders.amount.in_range", "orders.status.allowed"],
        ),
        # the last line, cut mid-write: no newline after it, 76.76 cut to 76.
        (["b10", "c3", "2024-01-09", "76.", "placed", ""], ["orders.truncated"]),
    ],
    "customers": [
        (["c1", "2023-06-01", "north", "email", "true", "false", "false", "en"], []),
        (["c2", "", "", "", "", "", "", ""], []),
        (["c3", "2023-06-03T12:00:00+01:00", "south", "sms", "1", "0", "yes", "ja-JP"], []),
        (
            ["x1", "someday", "north", "email", "true", "false", "false", ""],
            ["customers.signup_at.parses"],
        ),
        (
            ["x2", "2023-06-01", "north", "pigeon", "true", "false", "false", ""],
            ["customers.preferred_channel.allowed"],
        ),
        (
            ["x3", "2023-06-01", "north", "email", "maybe", "false", "false", ""],
            ["customers.consent_email.parses"],
        ),
        (
            ["x4", "2023-06-01", "north", "email", "true", "often", "false", ""],
            ["customers.consent_phone.parses"],
        ),
        (
            ["x5", "2023-06-01", "north", "email", "true", "false", "never", ""],
            ["customers.consent_sms.parses"],
        ),
        (
            ["", "2023-06-01", "north", "email", "true", "false", "false", ""],
            ["customers.customer_id.present"],
        ),
        (
            ["c1", "2023-06-01", "east", "email", "true", "false", "false", ""],
            ["customers.customer_id.unique"],
        ),
        (
            ["x7", "2023-06-01", "north", "email", "true", "false", "false", "日本語"],
            ["customers.language.pattern"],
        ),
        ([b"x6", b"2023-06-01", b"K\xf6ln", b"email", b"", b"", b"", b""], ["customers.utf8"]),
        # the last line, cut mid-write in its language: "ja" cut to "j"
        (
            ["x8", "2023-06-01", "east", "email", "true", "false", "false", "j"],
            ["customers.language.pattern", "customers.truncated"],
        ),
    ],
    "deliveries": [
        (["o1", "2024-01-03", "2024-01-02", "delivered"], []),
        (["o2", "2024-01-04", "", "in_transit"], []),
        (["o3", "2024-01-05T00:00:00+00:00", "2024-01-05", ""], []),
        (["o404", "2024-01-10", "", "in_transit"], ["deliveries.order_id.order_exists"]),
        (["o1", "2024-01-03", "2024-01-02", "delivered"], ["deliveries.order_id.unique"]),
        (["o4", "2024-01-01", "", "in_transit"], ["deliveries.promised_at.not_before_ordered"]),
        (
            ["o4", "2024-01-10", "2024-01-02", "delivered"],
            ["deliveries.order_id.unique", "deliveries.delivered_at.not_before_ordered"],
        ),
        (["", "2024-01-10", "", "in_transit"], ["deliveries.order_id.present"]),
        (
            ["o4", "", "", "in_transit"],
            ["deliveries.order_id.unique", "deliveries.promised_at.present"],
        ),
        (
            ["o4", "soon", "", "in_transit"],
            ["deliveries.order_id.unique", "deliveries.promised_at.parses"],
        ),
        (
            ["o4", "2024-01-10", "later", "in_transit"],
            ["deliveries.order_id.unique", "deliveries.delivered_at.parses"],
        ),
        (
            ["o4", "2024-01-10", "", "teleported"],
            ["deliveries.order_id.unique", "deliveries.status.allowed"],
        ),
        (
            [b"o4", b"2024-01-10", b"", b"in_tr\xe4nsit"],
            ["deliveries.order_id.unique", "deliveries.status.allowed", "deliveries.utf8"],
        ),
        (
            ["o2", "2024-01-04", "", "in_tr"],
            ["deliveries.order_id.unique", "deliveries.status.allowed", "deliveries.truncated"],
        ),
    ],
    "feedback": [
        (["f1", "c1", "o1", "2024-01-05", "review", "5", "Lovely, fast delivery!"], []),
        (["f2", "c1", "", "2024-01-06", "ticket", "", "The parcel never arrived. Terrible."], []),
        (["f3", "c2", "o3", "2024-01-07", "", "2", ""], []),
        (["f4", "c2", "", "2024-01-07", "survey", "4.0", "Lovely, fast delivery!"], []),
        (["y1", "c2", "", "2024-01-07", "review", "five", "ok"], ["feedback.rating.parses"]),
        (["y2", "c2", "", "2024-01-07", "review", "4.5", "ok"], ["feedback.rating.whole_number"]),
        (["y3", "c2", "", "2024-01-07", "review", "0", ""], ["feedback.rating.in_range"]),
        (["y4", "c2", "", "2024-01-07", "review", "6", "ok"], ["feedback.rating.in_range"]),
        (["y5", "c2", "", "2024-01-07", "fax", "3", ""], ["feedback.channel.allowed"]),
        (["y6", "c2", "", "2024-01-07", "review", "", ""], ["feedback.rating_or_text"]),
        (["y7", "c2", "", "last week", "review", "3", ""], ["feedback.created_at.parses"]),
        (["y8", "c2", "", "", "review", "3", ""], ["feedback.created_at.present"]),
        (["", "c2", "", "2024-01-07", "review", "3", ""], ["feedback.feedback_id.present"]),
        (["y9", "", "", "2024-01-07", "review", "3", ""], ["feedback.customer_id.present"]),
        (["f1", "c1", "o1", "2024-01-05", "review", "5", "again"], ["feedback.feedback_id.unique"]),
        ([b"y10", b"c2", b"", b"2024-01-07", b"chat", b"", b"tr\xe8s mauvais"], ["feedback.utf8"]),
        (["y11", "c2", "", "2024-01-07", "review", "3", "the parcel was"], ["feedback.truncated"]),
    ],
    "contacts": [
        (["k1", "c1", "2024-01-08", "treated", "win_back_offer", "email", "ordered"], []),
        (["k2", "c2", "2024-01-08T10:00:00+01:00", "control", "", "", ""], []),
        (["", "c2", "2024-01-08", "control", "", "", ""], ["contacts.contact_id.present"]),
        (["z1", "", "2024-01-08", "control", "", "", ""], ["contacts.customer_id.present"]),
        (["z2", "c2", "", "control", "", "", ""], ["contacts.contacted_at.present"]),
        (["z3", "c2", "yesterday", "control", "", "", ""], ["contacts.contacted_at.parses"]),
        (["z4", "c2", "2024-01-08", "", "", "", ""], ["contacts.group.present"]),
        (["z5", "c2", "2024-01-08", "maybe", "", "", ""], ["contacts.group.allowed"]),
        (["z6", "c2", "2024-01-08", "treated", "", "pigeon", ""], ["contacts.channel.allowed"]),
        (["k1", "c1", "2024-01-09", "treated", "", "", ""], ["contacts.contact_id.unique"]),
        ([b"z7", b"c2", b"2024-01-08", b"treated", b"", b"", b"r\xe9pondu"], ["contacts.utf8"]),
        (
            ["z8", "c2", "2024-01-08", "treated", "apology_status_update", "email", "ord"],
            ["contacts.truncated"],
        ),
    ],
}


@dataclass
class BadRowsShop:
    """A data directory plus, per table, the rules each source line must be quarantined for."""

    path: Path
    expected: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    good_keys: dict[str, list[str]] = field(default_factory=dict)


def _cell(value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode()
    return b'"' + raw.replace(b'"', b'""') + b'"' if b"," in raw else raw


def write_csv(
    path: Path, header: list[str], rows: list[list[str | bytes]], final_newline: bool = True
) -> None:
    lines = [",".join(header).encode()] + [b",".join(_cell(c) for c in row) for row in rows]
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))


def write_bad_rows_shop(folder: Path, tables: tuple[str, ...] = tuple(ROWS)) -> BadRowsShop:
    """Write the tables as CSV; line 1 is the header, so row i (0-based) is on line i + 2."""
    folder.mkdir(parents=True, exist_ok=True)
    shop = BadRowsShop(folder)
    keys = {"orders": 0, "customers": 0, "deliveries": 0, "feedback": 0, "contacts": 0}
    for table in tables:
        rows = ROWS[table]
        cut = f"{table}.truncated" in rows[-1][1]  # the last line was cut: no newline after it
        write_csv(folder / f"{table}.csv", HEADERS[table], [cells for cells, _ in rows], not cut)
        shop.expected[table] = {i + 2: rules for i, (_, rules) in enumerate(rows) if rules}
        shop.good_keys[table] = sorted(
            str(cells[keys[table]]) for cells, rules in rows if not rules
        )
    return shop


def good_orders_frame() -> pd.DataFrame:
    """A clean orders table (typed, as a shop's Parquet export would hold it)."""
    return pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c1", "c2"],
            # ISO strings keep each row's own offset (a pandas column cannot mix them)
            "ordered_at": [
                "2024-01-01T10:00:00+02:00",
                "2024-01-02T00:00:00Z",
                "2024-01-03T05:30:00-05:00",
            ],
            "amount": [10.0, 0.0, 99.5],
            "status": ["delivered", None, "placed"],
        }
    )
