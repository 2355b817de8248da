"""The one CSV writer: text a spreadsheet would run as a formula reaches it as text."""

from __future__ import annotations

import csv
import io

import pandas as pd

from common.spreadsheet import FORMULA_STARTS, csv_text, safe_cell

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "@SUM(A1:A9)", "+1+1", "-2+3", "\tx", "\rx"]


def test_every_formula_start_is_neutralised_and_plain_text_is_not():
    assert all(safe_cell(value).startswith("'") for value in HOSTILE)
    assert {value[0] for value in HOSTILE} == set(FORMULA_STARTS)
    assert safe_cell("C00042") == "C00042" and safe_cell(-3.5) == -3.5 and safe_cell(None) is None


def test_text_cells_are_neutralised_and_numbers_kept():
    frame = pd.DataFrame({"customer_id": HOSTILE, "churn_probability": [-0.5] * len(HOSTILE)})
    rows = list(csv.DictReader(io.StringIO(csv_text(frame))))
    assert [row["customer_id"] for row in rows] == ["'" + value for value in HOSTILE]
    assert {row["churn_probability"] for row in rows} == {"-0.5"}
