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


def _written(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        table: pd.read_parquet(folder / f"{table}.parquet")
        for table in ("orders", "deliveries", "feedback", "contacts")
        if (folder / f"{table}.parquet").exists()
    }


def test_outside_contacts_change_the_shop_as_the_same_campaign_does(tmp_path: Path) -> None:
    from dataclasses import replace

    from shopsim import OutreachContact

    # No win-backs, so neither world draws a chance of coming back and the two must agree exactly.
    effects = replace(EFFECT_MODELS["recovery"], win_back=(0.0, 0.0, 0.0, 0.0))
    base = ShopConfig(
        customers=2_000,
        seed=4,
        end=date(2025, 6, 30),
        truth_as_of=(date(2025, 3, 1),),
        effects=effects,
    )
    campaign = replace(base, campaigns=1, campaigns_before=date(2025, 5, 1))
    generate_shop(campaign, tmp_path / "campaign")
    rows = pd.read_parquet(tmp_path / "campaign" / "contacts.parquet")
    outreach = tuple(
        OutreachContact(
            r.customer_id, r.contacted_at.to_pydatetime(), r.playbook, r.group == "treated"
        )
        for r in rows.itertuples()
    )
    generate_shop(replace(base, outreach=outreach), tmp_path / "outreach")
    held_out = tuple(replace(contact, treated=False) for contact in outreach)
    generate_shop(replace(base, outreach=held_out), tmp_path / "held_out")
    made, as_campaign, untouched = (
        _written(tmp_path / name) for name in ("outreach", "campaign", "held_out")
    )

    assert rows["contacted_at"].dt.date.eq(date(2025, 4, 1)).all() and len(rows) > 100
    for table in ("orders", "deliveries", "feedback", "contacts"):
        pd.testing.assert_frame_equal(made[table], as_campaign[table], obj=table)
    day = pd.Timestamp("2025-04-01")
    ours, theirs = made["orders"], untouched["orders"]
    pd.testing.assert_frame_equal(
        ours[ours["ordered_at"] < day], theirs[theirs["ordered_at"] < day]
    )
    assert (
        not ours[ours["ordered_at"] >= day]["customer_id"]
        .reset_index(drop=True)
        .equals(theirs[theirs["ordered_at"] >= day]["customer_id"].reset_index(drop=True))
    ), "the contacts changed what the customers did afterwards"


def test_outside_contacts_are_written_with_their_own_ids_and_control_rows_change_nothing(
    tmp_path: Path,
) -> None:
    from dataclasses import replace
    from datetime import datetime

    from shopsim import OutreachContact

    base = ShopConfig(customers=800, seed=6, end=date(2025, 6, 30), truth_as_of=(date(2025, 3, 1),))
    at = datetime(2025, 3, 1, 10)
    held_out = tuple(
        OutreachContact(f"C{i:07d}", at, "default", treated=False) for i in range(1, 60)
    )
    generate_shop(replace(base, outreach=held_out), tmp_path / "control")
    generate_shop(base, tmp_path / "none")
    control, untouched = _written(tmp_path / "control"), _written(tmp_path / "none")
    pd.testing.assert_frame_equal(control["orders"], untouched["orders"])
    assert control["contacts"]["group"].eq("control").all()
    assert control["contacts"]["channel"].isna().all()
    assert len(control["contacts"]) == len(held_out) and "contacts" not in untouched

    contacted = (
        OutreachContact("C0000002", at, "win_back_offer", contact_id="queue-contact-1"),
        OutreachContact("C0000001", at.replace(hour=9), "apology_status_update"),
    )
    generate_shop(replace(base, outreach=contacted), tmp_path / "treated")
    written = pd.read_parquet(tmp_path / "treated" / "contacts.parquet")
    assert written["contact_id"].tolist() == ["K0000001", "queue-contact-1"], "in time order"
    assert written["customer_id"].tolist() == ["C0000001", "C0000002"]
    assert written["group"].eq("treated").all() and written["channel"].notna().all()
    assert written["contacted_at"].tolist() == [pd.Timestamp(at.replace(hour=9)), pd.Timestamp(at)]
    with pytest.raises(ValueError, match="playbook"):
        OutreachContact("C0000001", at, "loyal_high_value_fading")
    with pytest.raises(ValueError, match="one of the 800 customers"):
        replace(base, outreach=(OutreachContact("C0000801", at, "default"),))
