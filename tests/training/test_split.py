"""The time split: held-out label windows never overlap training label windows when history allows."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pandas as pd
import pytest

from tests.features.hand_shop import hand_deliveries, hand_feedback, hand_orders
from tests.features.pit_shops import warehouse
from training.split import plan_split, split_frame, training_cutoffs


def monthly(n: int) -> list[date]:
    return [date(2024, 1, 1) + timedelta(days=30 * i) for i in range(n)]


def test_strict_split_keeps_label_windows_apart():
    cutoffs = monthly(20)
    split = plan_split(cutoffs, horizon_days=90)
    assert split.strategy == "strict" and split.honest
    assert split.test_cutoff == cutoffs[-1]
    (valid,) = split.valid_cutoffs
    assert valid + timedelta(days=90) <= split.test_cutoff
    assert all(c + timedelta(days=90) <= valid for c in split.fit_cutoffs)
    assert max(split.fit_cutoffs) == max(c for c in cutoffs if c + timedelta(days=90) <= valid)


@pytest.mark.parametrize(
    ("n", "strategy"),
    [(6, "adjacent"), (4, "customers"), (3, "overlapping"), (1, "single-cutoff")],
)
def test_short_histories_relax_the_inner_split_first(n, strategy):
    split = plan_split(monthly(n), horizon_days=90)
    assert split.strategy == strategy
    assert split.test_cutoff == monthly(n)[-1]


def test_split_frame_never_puts_a_customer_cutoff_in_two_slices():
    cutoffs = monthly(4)  # "customers": one pool cutoff split between fit and validation by id
    frame = pd.DataFrame(
        [(f"C{i}", pd.Timestamp(c), i % 2) for c in cutoffs for i in range(200)],
        columns=["customer_id", "cutoff", "churned"],
    )
    fit, valid, test = split_frame(frame, plan_split(cutoffs, 90))
    keys = [set(zip(part.customer_id, part.cutoff, strict=True)) for part in (fit, valid, test)]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert len(valid) > 0 and len(fit) > len(valid)
    assert set(test.cutoff) == {pd.Timestamp(cutoffs[-1])}


@pytest.fixture(scope="module")
def hand_con():
    return warehouse(hand_orders(), hand_deliveries(), hand_feedback())


def test_training_cutoffs_respect_history_and_horizon(hand_con):
    cutoffs = training_cutoffs(hand_con, horizon_days=90, every_days=30, min_history_days=90)
    # first order 2024-05-01 + 90 days = 2024-07-30; last order day 2025-10-15 - 90 = 2025-07-17
    assert cutoffs[-1] == date(2025, 7, 17)
    assert cutoffs[0] >= date(2024, 7, 30)
    assert cutoffs[0] - timedelta(days=30) < date(2024, 7, 30)
    assert {b - a for a, b in itertools.pairwise(cutoffs)} == {timedelta(days=30)}
    with pytest.raises(ValueError, match="too short"):
        training_cutoffs(hand_con, horizon_days=500, min_history_days=90)
