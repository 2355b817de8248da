"""The synthetic shop: files in the contract, deterministic, and dynamics a churn model can learn from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churnguard.names import INPUT_TABLES, ORDERS
from features.contract import CONTRACT

KIND_CHECKS = {
    "string": pd.api.types.is_string_dtype,
    "category": pd.api.types.is_string_dtype,
    "timestamp": lambda s: str(s.dtype) == "datetime64[us]",
    "number": pd.api.types.is_float_dtype,
    "integer": lambda s: pd.api.types.is_integer_dtype(s) or s.isna().any(),
    "boolean": pd.api.types.is_bool_dtype,
}


def read(shop: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(shop / f"{table}.parquet")


def test_small_shop_tables_follow_the_contract(small_shop: Path) -> None:
    for name in INPUT_TABLES:
        frame = read(small_shop, name)
        contract = CONTRACT[name]
        assert list(frame.columns) == list(contract.column_names), name
        for column in contract.columns:
            values = frame[column.name]
            assert KIND_CHECKS[column.kind](values), f"{name}.{column.name} is {values.dtype}"
            if not column.nullable:
                assert values.notna().all(), f"{name}.{column.name} has empty values"
            if column.allowed:
                assert set(values.dropna()) <= set(column.allowed), f"{name}.{column.name}"
        assert frame[contract.key].is_unique, f"{name}.{contract.key} repeats"
    assert len(read(small_shop, ORDERS)) > 2_000
