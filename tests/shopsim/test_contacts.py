"""Outreach in the simulated shop: randomized campaigns in contacts, each customer's true effect of a
contact in the truth, and a control group that measures it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopsim import EFFECT_MODELS, ShopConfig, generate_shop, read_truth
from shopsim.config import CAMPAIGN_PLAYBOOKS
from shopsim.writer import effect_column


def _campaign_shop(tmp_path: Path, effects: str) -> tuple[ShopConfig, Path]:
    probe = ShopConfig(customers=6_000, seed=5, campaigns=6, campaigns_before=date(2025, 9, 1))
    from datetime import timedelta

    days = [probe.start + timedelta(days=d) for d in probe.campaign_days()]
    config = ShopConfig(
        customers=6_000,
        seed=5,
        campaigns=6,
        campaigns_before=date(2025, 9, 1),
        campaign_share=0.5,
        truth_as_of=tuple(days),
        effects=EFFECT_MODELS[effects],
    )
    out = tmp_path / effects
    generate_shop(config, out)
    return config, out


@pytest.mark.parametrize("effects", ["recovery", "win-back"])
def test_the_control_groups_interval_covers_the_true_average_effect(
    tmp_path: Path, effects: str
) -> None:
    _, out = _campaign_shop(tmp_path, effects)
    contacts = pd.read_parquet(out / "contacts.parquet")
    orders = pd.read_parquet(out / "orders.parquet")
    truth = read_truth(out)
    assert set(contacts["group"]) == {"treated", "control"}
    assert set(contacts["playbook"]) == set(CAMPAIGN_PLAYBOOKS)
    assert contacts["channel"].isna().eq(contacts["group"].eq("control")).all()

    contacts["as_of"] = contacts["contacted_at"].dt.normalize()
    members = contacts.merge(truth, on=["customer_id", "as_of"], how="inner")
    assert len(members) == len(contacts), "every campaign member has a true effect"
    columns = {p: members.columns.get_loc(effect_column(p)) for p in CAMPAIGN_PLAYBOOKS}
    members["effect"] = members.to_numpy()[
        np.arange(len(members)), members["playbook"].map(columns).to_numpy()
    ].astype(float)
    ends = members["as_of"] + pd.Timedelta(days=90)
    ordered = orders.merge(members[["customer_id", "as_of"]], on="customer_id")
    ordered = ordered[
        (ordered["ordered_at"] >= ordered["as_of"])
        & (ordered["ordered_at"] < ordered["as_of"] + pd.Timedelta(days=90))
    ]
    bought = set(zip(ordered["customer_id"], ordered["as_of"], strict=True))
    members["churned"] = [
        (c, a) not in bought for c, a in zip(members["customer_id"], members["as_of"], strict=True)
    ]
    assert (ends <= pd.Timestamp("2025-12-31")).all()
    treated = members[members["group"] == "treated"]
    control = members[members["group"] == "control"]
    measured = control["churned"].mean() - treated["churned"].mean()
    spread = 1.96 * np.sqrt(
        control["churned"].var() / len(control) + treated["churned"].var() / len(treated)
    )
    true_mean = treated["effect"].mean()
    assert abs(measured - true_mean) <= spread, (measured, spread, true_mean)


def test_sleeping_dogs_lose_from_any_contact_and_the_unmoved_neither_way(tmp_path: Path) -> None:
    config = ShopConfig(customers=3_000, seed=2, truth_as_of=(date(2025, 6, 1),))
    generate_shop(config, tmp_path)
    truth = read_truth(tmp_path)
    effects = truth[[effect_column(p) for p in CAMPAIGN_PLAYBOOKS]]
    dogs = truth["response"] == "sleeping_dog"
    still_there = truth["churn_probability"] < 0.999  # a dog who already left has nothing to lose
    assert (effects[dogs & still_there].max(axis=1) < 0).all()
    assert (effects[dogs & ~still_there] == 0).all().all()
    assert (effects[truth["response"] == "unmoved"] == 0).all().all()
    assert not (tmp_path / "contacts.parquet").exists(), "no campaign, no contacts table"
