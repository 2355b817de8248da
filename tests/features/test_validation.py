"""The rules come from the contract, and GX's verdict on a frame names the right lines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.names import CONTRACT_VERSION
from features.contract import CONTRACT
from features.sentiment import VaderScorer
from features.validation import (
    ContractValidator,
    build_suite,
    frame_columns,
    missing_required_columns,
    rules_for,
)


def test_every_allowed_set_and_range_of_the_contract_has_a_rule() -> None:
    for table in CONTRACT.values():
        names = {rule.name for rule in rules_for(table.name)}
        for column in table.columns:
            if column.allowed:
                assert f"{table.name}.{column.name}.allowed" in names
            if column.minimum is not None or column.maximum is not None:
                assert f"{table.name}.{column.name}.in_range" in names
            assert (f"{table.name}.{column.name}.present" in names) == (not column.nullable)


def test_the_suite_is_versioned_with_the_contract() -> None:
    suite = build_suite("orders")
    assert suite.name.endswith(f"contract_v{CONTRACT_VERSION}")
    assert len(suite.expectations) == len(rules_for("orders"))
    assert {e.meta["rule"] for e in suite.expectations} == {r.name for r in rules_for("orders")}


def test_missing_required_columns_ignores_optional_and_extra_columns() -> None:
    assert missing_required_columns("orders", ["order_id", "amount", "extra"]) == [
        "customer_id",
        "ordered_at",
    ]
    assert missing_required_columns("feedback", CONTRACT["feedback"].required_columns) == []


def test_gx_reports_the_source_lines_of_the_rows_breaking_each_rule() -> None:
    frame = pd.DataFrame(
        {
            "_source_line": [2, 3, 4, 5],
            "_utf8_valid": [True, True, True, False],
            "_line_complete": [True, True, True, True],
            "_key_occurrence": [1, 1, 2, 1],
            "order_id": ["o1", "o2", "o1", "o3"],
            "customer_id": ["c1", None, "c1", "c2"],
            "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", None]),
            "ordered_at__given": ["2024-01-01", "2024-01-02", "2024-01-01", "nope"],
            "amount": [1.0, -3.0, 1.0, 2.0],
            "amount__given": ["1", "-3", "1", "2"],
            "status": ["placed", "gone", None, None],
        }
    )
    assert list(frame.columns) == list(frame_columns("orders"))
    verdict = ContractValidator("test").validate("orders", frame)
    assert verdict.broken == {
        "orders.customer_id.present": [3],
        "orders.ordered_at.parses": [5],
        "orders.amount.in_range": [3],
        "orders.status.allowed": [3],
        "orders.utf8": [5],
        "orders.order_id.unique": [4],
    }


def test_vader_scores_angry_text_below_happy_text() -> None:
    scores = VaderScorer().score(
        ["I love it, wonderful service!", "Terrible, broken and late. Awful."]
    )
    assert isinstance(scores, np.ndarray)
    assert scores[0] > 0.5 > -0.5 > scores[1]
