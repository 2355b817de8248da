"""Shops with known per-customer effects of a contact, cut at a scoring day T, and the judge of a
queue on them: the true saves of the customers it contacts against the best possible for the same
number of contacts (the issue's black-box protocol, scored from the simulator's ground truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from shopsim import EFFECT_MODELS, OutreachContact, ShopConfig, generate_shop, read_truth
from shopsim.config import CAMPAIGN_PLAYBOOKS
from shopsim.writer import effect_column

HORIZON_DAYS = 90
# Playbooks the simulator does not model, judged as the one they most resemble: an account
# manager's personal call works like a service-recovery call.
JUDGED_AS = {"loyal_high_value_fading": "service_recovery_call"}
TABLES = ("orders", "deliveries", "feedback", "customers", "contacts")


@dataclass(frozen=True)
class UpliftShop:
    """A simulated shop: its files before `as_of` in `data`, the truth at `as_of` hidden."""

    data: Path
    as_of: date
    truth: pd.DataFrame  # at as_of: customer_id, churn_probability, response, effect_<playbook>
    config: ShopConfig
    full: Path  # the whole simulated history, future included
    campaigns_truth: pd.DataFrame  # the truth rows at each campaign day


def make_shop(
    folder: Path,
    effects: str,
    customers: int = 6_000,
    seed: int = 0,
    campaigns: int = 9,
    end: date = date(2025, 12, 31),
) -> UpliftShop:
    """Simulate a shop through T + horizon with `campaigns` monthly campaigns before T, and write
    what the shop would export on T (events before it) into folder/data."""
    as_of = end + timedelta(days=1) - timedelta(days=HORIZON_DAYS)
    config = ShopConfig(
        customers=customers,
        seed=seed,
        end=end,
        truth_as_of=(*campaign_days(end, campaigns, as_of), as_of),
        campaigns=campaigns,
        campaigns_before=as_of,
        effects=EFFECT_MODELS[effects],
    )
    full = folder / "full"
    generate_shop(config, full)
    data = write_known_before(full, as_of, folder / "data")
    truth = read_truth(full)
    campaigns_truth = truth[truth["as_of"] < pd.Timestamp(as_of)].reset_index(drop=True)
    truth = truth[truth["as_of"] == pd.Timestamp(as_of)].reset_index(drop=True)
    return UpliftShop(data, as_of, truth, config, full, campaigns_truth)


def campaign_days(end: date, campaigns: int, before: date) -> tuple[date, ...]:
    """The days of the `campaigns` monthly campaigns a shop ending on `end` runs before `before`."""
    probe = ShopConfig(customers=1, end=end, campaigns=campaigns, campaigns_before=before)
    return tuple(probe.start + timedelta(days=d) for d in probe.campaign_days())


def loop_config(
    effects: str,
    customers: int,
    seed: int,
    scoring_days: tuple[date, ...],
    outreach: tuple[OutreachContact, ...] = (),
    campaigns: int = 9,
) -> ShopConfig:
    """A shop for weekly scoring days: campaigns before the first, simulated until the last day's
    truth horizon ends, with the truth at every campaign and scoring day, and the contacts the
    shop made so far. The same for every week but its outreach, so each week's world differs from
    the last only from the new contacts on."""
    end = scoring_days[-1] + timedelta(days=HORIZON_DAYS - 1)
    days = campaign_days(end, campaigns, scoring_days[0])
    return ShopConfig(
        customers=customers,
        seed=seed,
        end=end,
        truth_as_of=(*days, *scoring_days),
        campaigns=campaigns,
        campaigns_before=scoring_days[0],
        effects=EFFECT_MODELS[effects],
        outreach=outreach,
    )


def write_known_before(full: Path, as_of: date, data: Path) -> Path:
    """Write what the shop exports on `as_of` (`known_before` its midnight) into `data`."""
    data.mkdir(parents=True, exist_ok=True)
    for table, frame in known_before(full, datetime.combine(as_of, datetime.min.time())).items():
        frame.to_parquet(data / f"{table}.parquet", index=False)
    return data


def known_before(full: Path, cutoff: datetime) -> dict[str, pd.DataFrame]:
    """What a user would export on the cutoff day: events before it; deliveries arriving later are
    still in transit."""
    tables = {
        t: pd.read_parquet(full / f"{t}.parquet")
        for t in TABLES
        if (full / f"{t}.parquet").exists()
    }
    orders = tables["orders"][tables["orders"]["ordered_at"] < cutoff]
    known = {"orders": orders}
    deliveries = tables["deliveries"]
    deliveries = deliveries[deliveries["order_id"].isin(set(orders["order_id"]))].copy()
    later = deliveries["delivered_at"] >= cutoff
    deliveries.loc[later, "delivered_at"] = pd.NaT
    deliveries.loc[later, "status"] = "in_transit"
    known["deliveries"] = deliveries
    known["feedback"] = tables["feedback"][tables["feedback"]["created_at"] < cutoff]
    known["customers"] = tables["customers"][tables["customers"]["signup_at"] < cutoff]
    if "contacts" in tables:
        known["contacts"] = tables["contacts"][tables["contacts"]["contacted_at"] < cutoff]
    return known


def effect_matrix(truth: pd.DataFrame) -> pd.DataFrame:
    """customer_id-indexed true effects, one column per playbook churnguard can choose."""
    effects = truth.set_index("customer_id")[[effect_column(p) for p in CAMPAIGN_PLAYBOOKS]]
    effects.columns = list(CAMPAIGN_PLAYBOOKS)
    for playbook, like in JUDGED_AS.items():
        effects[playbook] = effects[like]
    return effects


def judge(queue: pd.DataFrame, truth: pd.DataFrame, value: pd.Series | None = None) -> dict:
    """True saves of the queue's (customer_id, playbook) contacts and the best possible for as many
    contacts (each customer at their best playbook); with `value` (per customer_id) also revenue.
    `share_of_best_customers` judges whom the queue picked alone: its customers' saves at their
    own best playbook, against the same best possible (the measure when a shop's effect of a
    contact does not depend on how it is made)."""
    effects = effect_matrix(truth)
    known = queue[queue["customer_id"].isin(effects.index)]
    saves = effects.to_numpy()[
        effects.index.get_indexer(known["customer_id"]),
        [effects.columns.get_loc(p) if p in effects.columns else 0 for p in known["playbook"]],
    ]
    best = np.sort(effects.max(axis=1).to_numpy())[::-1][: len(queue)]
    out = {
        "contacts": len(queue),
        "true_saves": float(saves.sum()),
        "best_possible_saves": float(best.clip(min=0).sum()),
        "saves_per_100_contacts": float(100 * saves.sum() / max(len(queue), 1)),
        "sleeping_dogs_queued": int(
            truth.set_index("customer_id")
            .loc[known["customer_id"], "response"]
            .eq("sleeping_dog")
            .sum()
        ),
    }
    picked_best = float(effects.max(axis=1).reindex(known["customer_id"]).sum())
    out["share_of_best"] = (
        out["true_saves"] / out["best_possible_saves"]
        if out["best_possible_saves"]
        else float("nan")
    )
    out["share_of_best_customers"] = (
        picked_best / out["best_possible_saves"] if out["best_possible_saves"] else float("nan")
    )
    if value is not None:
        out["revenue_saved"] = float(
            (saves * value.reindex(known["customer_id"]).fillna(0).to_numpy()).sum()
        )
    return out


def effect_ceiling(snapshot: pd.DataFrame, truth: pd.DataFrame, contacts: int) -> float:
    """Share of the best possible that a ranking by a LightGBM regression fitted (5-fold) to the
    true best effects from the snapshot's own features reaches for `contacts` contacts: roughly
    the most any ranking from the shop's data can get, since hidden responses stay hidden."""
    import lightgbm as lgb

    from features.catalogue import FEATURE_NAMES

    best = effect_matrix(truth).max(axis=1).reindex(snapshot["customer_id"]).to_numpy()
    names = [name for name in FEATURE_NAMES if name in snapshot.columns]
    matrix = snapshot[names].to_numpy(dtype=np.float64)
    predicted = np.zeros(len(snapshot))
    folds = np.arange(len(snapshot)) % 5
    params = {
        "objective": "regression",
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "learning_rate": 0.05,
        "verbose": -1,
        "num_threads": 1,
        "seed": 0,
    }
    for fold in range(5):
        train = folds != fold
        model = lgb.train(params, lgb.Dataset(matrix[train], best[train]), num_boost_round=300)
        predicted[~train] = model.predict(matrix[~train])
    chosen = best[np.argsort(-predicted)[:contacts]]
    possible = np.sort(best)[::-1][:contacts].clip(min=0).sum()
    return float(chosen.sum() / possible) if possible else float("nan")


def _environment(home: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURNGUARD_", "MLFLOW_"))}
    return {**env, "CHURNGUARD_HOME": str(home)}


def cli(home: Path, *args: str, exit_codes: tuple[int, ...] = (0,)) -> str:
    """One `churnguard` command as a user runs it; raises with its output if it exits otherwise
    than `exit_codes` (`train --promote` exits 2 when the champion stays)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "churnguard", *args],
        env=_environment(home),
        capture_output=True,
        text=True,
    )
    if done.returncode not in exit_codes:
        raise RuntimeError(f"churnguard {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def run_protocol(shop: UpliftShop, folder: Path) -> dict:
    """The issue's black-box protocol: ingest, train --promote, daily, queue export; judged on the
    truth. Also judges value at risk and random for as many contacts, from the same scores."""
    home = folder / "home"
    out = {"train": cli(home, "ingest", str(shop.data)) and ""}
    out["train"] = cli(home, "train", "--horizon-days", str(HORIZON_DAYS), "--promote")
    out["daily"] = cli(home, "daily", "--as-of", shop.as_of.isoformat())
    exported = folder / "q.csv"
    cli(home, "queue", "export", "--date", shop.as_of.isoformat(), "--out", str(exported))
    queue = pd.read_csv(exported, dtype={"customer_id": str})
    scores = pd.read_parquet(home / "exports" / f"scores_{shop.as_of.isoformat()}.parquet")
    value = scores.set_index("customer_id")["expected_value"]
    n = len(queue)
    by_risk = scores.sort_values("value_at_risk", ascending=False).head(n)
    random = scores.sample(n=min(n, len(scores)), random_state=0)
    snapshot = pd.read_parquet(home / "snapshots" / f"features_{shop.as_of.isoformat()}.parquet")
    return {
        "ceiling": effect_ceiling(snapshot, shop.truth, n),
        "expected_saves": judge(queue, shop.truth, value),
        "value_at_risk": judge(
            by_risk.rename(columns={"best_playbook": "playbook"}), shop.truth, value
        ),
        "random": judge(random.rename(columns={"best_playbook": "playbook"}), shop.truth, value),
        "source": next(
            (line.strip() for line in out["daily"].splitlines() if "priority:" in line), ""
        ),
        "uplift": next(
            (
                line.strip()
                for line in out["train"].splitlines()
                if "gate" in line and "uplift" in line.lower()
            ),
            "",
        ),
    }


def control_interval(shop: UpliftShop) -> dict:
    """What the campaigns' control group measures (churn of control minus churn of treated, with a
    95% interval) against the true average effect of the contacts made."""
    contacts = pd.read_parquet(shop.full / "contacts.parquet")
    orders = pd.read_parquet(shop.full / "orders.parquet", columns=["customer_id", "ordered_at"])
    return control_interval_of(contacts, shop.campaigns_truth, orders)


def control_interval_of(contacts: pd.DataFrame, truth: pd.DataFrame, orders: pd.DataFrame) -> dict:
    """Churn of the control rows minus churn of the treated rows of `contacts` in the horizon after
    each contact day (from `orders`), with a 95% interval, against the true average effect of the
    treated contacts (`truth` at each contact day)."""
    contacts = contacts.copy()
    contacts["as_of"] = contacts["contacted_at"].dt.normalize()
    members = contacts.merge(truth, on=["customer_id", "as_of"], how="inner")
    columns = {p: members.columns.get_loc(effect_column(p)) for p in CAMPAIGN_PLAYBOOKS}
    members["effect"] = members.to_numpy()[
        np.arange(len(members)), members["playbook"].map(columns).to_numpy()
    ].astype(float)
    window = orders.merge(members[["customer_id", "as_of"]].drop_duplicates(), on="customer_id")
    window = window[
        (window["ordered_at"] >= window["as_of"])
        & (window["ordered_at"] < window["as_of"] + pd.Timedelta(days=HORIZON_DAYS))
    ]
    bought = set(zip(window["customer_id"], window["as_of"], strict=True))
    members["churned"] = [
        (c, a) not in bought for c, a in zip(members["customer_id"], members["as_of"], strict=True)
    ]
    treated = members[members["group"] == "treated"]
    control = members[members["group"] == "control"]
    measured = control["churned"].mean() - treated["churned"].mean()
    spread = 1.96 * float(
        np.sqrt(control["churned"].var() / len(control) + treated["churned"].var() / len(treated))
    )
    truth_effect = float(treated["effect"].mean())
    return {
        "campaign_contacts": len(members),
        "treated": len(treated),
        "control": len(control),
        "measured_effect": float(measured),
        "interval_low": float(measured - spread),
        "interval_high": float(measured + spread),
        "true_average_effect": truth_effect,
        "covers": bool(abs(measured - truth_effect) <= spread),
    }
