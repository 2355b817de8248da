"""The pandas baseline of the benchmark computes the same numbers as the DuckDB snapshot."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.pandas_features import pandas_snapshot
from features.snapshot import build_snapshot
from tests.features.hand_shop import AS_OF, hand_deliveries, hand_feedback, hand_orders
from tests.features.pit_shops import at_day, random_shop, warehouse


def _same(sql: pd.DataFrame, plain: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        sql.reset_index(drop=True),
        plain.reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
    )


def test_hand_shop():
    orders, deliveries, feedback = hand_orders(), hand_deliveries(), hand_feedback()
    _same(
        build_snapshot(warehouse(orders, deliveries, feedback), AS_OF),
        pandas_snapshot(orders, deliveries, feedback, AS_OF),
    )


@pytest.mark.parametrize("seed", range(12))
def test_random_shops(seed):
    orders, deliveries, feedback = random_shop(seed)
    con = warehouse(orders, deliveries, feedback)
    for day in (60, 250, 400, 650):
        cutoff = at_day(day, 13 if seed % 3 == 0 else 0)
        _same(build_snapshot(con, cutoff), pandas_snapshot(orders, deliveries, feedback, cutoff))
