"""The one CSV writer: every CSV churnguard writes goes through `write_csv`, which neutralises cells a
spreadsheet would run as a formula (CSV injection, as OWASP describes it).

Customer ids come from the shop's files and agent names and notes from any outreach key, so a text
cell such as `=HYPERLINK(...)` or `@SUM(...)` must reach the spreadsheet as text. A text cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which spreadsheets
show as text and do not display. Numeric columns are left alone: a number is never a formula.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` with a leading `'` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and column names) cannot start a formula."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(
            out[column]
        ) and not pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(str(name)) for name in out.columns]
    return out


def write_csv(frame: pd.DataFrame, out: Path | io.StringIO, **options: Any) -> None:
    """Write `frame` as CSV (to a path or a text buffer) with its formula cells neutralised."""
    options.setdefault("index", False)
    # RFC 4180's CRLF: the csv module then also quotes a field holding a lone CR, which would
    # otherwise end the row for most readers.
    options.setdefault("lineterminator", "\r\n")
    neutralised(frame).to_csv(out, **options)


def csv_text(frame: pd.DataFrame, **options: Any) -> str:
    buffer = io.StringIO()
    write_csv(frame, buffer, **options)
    return buffer.getvalue()
