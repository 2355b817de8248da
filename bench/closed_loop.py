"""The closed loop over several weeks: churnguard scores a simulated shop every week, agents
contact what a strategy picks, the control group is held out, and the contacts become part of
the shop's history that the next ingest and retraining read. One world per effect model and
strategy (contacts change what customers do, so the worlds part after the first week); each
week's contacts are judged on the truth at that week's scoring day.

Strategies, for as many contacts as churnguard queues that week in the strategy's own world:
- expected saves: churnguard's exported queue, worked in its queue store as agents would;
- value at risk: the scores export's top customers by value_at_risk, with their best_playbook;
- random: scored customers at random, with their best_playbook.
Value at risk and random hold out a random `control_fraction` of their own picks (churnguard's
rule: after the capacity cut), so each strategy's interval compares like with like; they skip the
customers the churnguard install in their world holds out that day, whom its store records as
control, so what each world's retraining reads is what happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from bench.uplift_shops import (
    HORIZON_DAYS,
    JUDGED_AS,
    cli,
    control_interval_of,
    judge,
    loop_config,
    write_known_before,
)
from common.names import CHAMPION_ALIAS, MODEL_NAME
from common.settings import Settings
from features.contacts import contacted_within
from outreach.rules import OutreachConfig
from outreach.store import open_store
from shopsim import OutreachContact, generate_shop, read_truth

STRATEGIES = ("expected_saves", "value_at_risk", "random")
RULES = OutreachConfig()  # the cooldown and control share churnguard's daily job applies
CONTACT_HOUR = time(10)  # agents work the day's queue from 10:00
AGENT = "bench-agent"


@dataclass(frozen=True)
class LoopPlan:
    """What one closed loop runs: a shop, its scoring days and how often churnguard retrains."""

    effects: str
    customers: int
    weeks: int
    first_day: date = date(2025, 10, 2)  # a day before the single-day benchmark's T (10-03)
    retrain_every: int = 2  # weeks
    seed: int = 1

    @property
    def scoring_days(self) -> tuple[date, ...]:
        return tuple(self.first_day + timedelta(days=7 * w) for w in range(self.weeks))

    def retrains(self, week: int) -> bool:
        return week % self.retrain_every == 0


@dataclass
class Week:
    """One scoring day of one strategy: what was picked and how it was judged."""

    as_of: date
    queue_size: int  # churnguard's queue that day in this world: the contacts every strategy makes
    retrained: str  # "", "promoted" or "champion kept"
    judged: dict
    held_out: int
    source: str  # what drove churnguard's priority that day


@dataclass
class World:
    """One strategy's shop: the contacts it made so far and its weeks."""

    strategy: str
    outreach: tuple[OutreachContact, ...] = ()
    weeks: list[Week] = field(default_factory=list)


def pick_by(
    scores: pd.DataFrame,
    n: int,
    skipped: frozenset[str],
    rng: np.random.Generator,
    order: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n` customers to contact with their best_playbook, by `order` (None: at random), and a
    random control_fraction of the would-be contacted held out: (treated, control)."""
    pool = scores[~scores["customer_id"].isin(skipped)]
    wanted = min(len(pool), n + round(n * RULES.control_fraction / (1 - RULES.control_fraction)))
    if order is None:
        picked = pool.iloc[rng.permutation(len(pool))[:wanted]]
    else:
        picked = pool.sort_values(order, ascending=False, kind="mergesort").head(wanted)
    picked = picked.rename(columns={"best_playbook": "playbook"})[["customer_id", "playbook"]]
    control = np.zeros(len(picked), dtype=bool)
    control[rng.permutation(len(picked))[: max(wanted - n, 0)]] = True
    return picked[~control].reset_index(drop=True), picked[control].reset_index(drop=True)


def as_outreach(
    rows: pd.DataFrame, at: datetime, treated: bool, ids: pd.Series | None = None
) -> tuple[OutreachContact, ...]:
    """Rows (customer_id, playbook) as the shop's contacts at `at`; playbooks the simulator does
    not model act as the one they resemble (`JUDGED_AS`)."""
    contact_ids = [None] * len(rows) if ids is None else list(ids)
    return tuple(
        OutreachContact(
            customer, at, JUDGED_AS.get(playbook, playbook), treated=treated, contact_id=own
        )
        for customer, playbook, own in zip(
            rows["customer_id"], rows["playbook"], contact_ids, strict=True
        )
    )


def work_the_queue(home: Path, as_of: date) -> pd.DataFrame:
    """Agents claim and contact every item of the day's queue at 10:00 (the store's API with the
    simulated clock: the CLI records the wall clock); returns the day's rows of the store's contact
    history, treated and control, as the next retraining reads them."""
    store = open_store(Settings(home=home).queue_database_url)
    at = datetime.combine(as_of, CONTACT_HOUR)
    try:
        items = store.items(as_of)
        for team, count in items.groupby("team").size().items():
            for item in store.claim(str(team), int(count), AGENT, queue_date=as_of, now=at):
                store.transition(item.id, "contacted", AGENT, now=at)
        history = store.contact_history()
    finally:
        store.close()
    return history[history["contacted_at"].dt.normalize() == pd.Timestamp(as_of)]


def held_out_by_churnguard(home: Path, as_of: date) -> pd.DataFrame:
    """The day's control group churnguard recorded in its store."""
    store = open_store(Settings(home=home).queue_database_url)
    try:
        return store.control_group(as_of)
    finally:
        store.close()


@dataclass(frozen=True)
class ScoredDay:
    """What churnguard hands the shop on a scoring day."""

    queue: pd.DataFrame  # the exported queue: customer_id, playbook, ...
    scores: pd.DataFrame  # the scores export: customer_id, value_at_risk, best_playbook, ...
    source: str  # what drove the queue's priority
    retrained: str  # "", "promoted" or "champion kept"


def retraining_outcome(trained: str) -> str:
    """What `train --promote` said of the churn model; raises on an exit 2 that was not a refusal."""
    lines = [line for line in trained.splitlines() if line.startswith(f"{MODEL_NAME} v")]
    if any(f"is now {CHAMPION_ALIAS}" in line for line in lines):
        return "promoted"
    if any("not promoted" in line for line in lines):
        return "champion kept"
    raise RuntimeError(f"churnguard train said neither promoted nor kept:\n{trained}")


def score_day(home: Path, data: Path, as_of: date, retrain: bool) -> ScoredDay:
    """The user's day: ingest the export, retrain if it is a retraining week, daily, export the
    queue."""
    cli(home, "ingest", "--no-progress", str(data))
    retrained = ""
    if retrain:
        trained = cli(
            home, "train", "--horizon-days", str(HORIZON_DAYS), "--promote", exit_codes=(0, 2)
        )
        retrained = retraining_outcome(trained)
    daily = cli(home, "daily", "--as-of", as_of.isoformat())
    exported = home / f"queue_{as_of.isoformat()}.csv"
    cli(home, "queue", "export", "--date", as_of.isoformat(), "--out", str(exported))
    return ScoredDay(
        queue=pd.read_csv(exported, dtype={"customer_id": str}),
        scores=pd.read_parquet(home / "exports" / f"scores_{as_of.isoformat()}.parquet"),
        source=next((line.strip() for line in daily.splitlines() if "priority:" in line), ""),
        retrained=retrained,
    )


def run_week(plan: LoopPlan, world: World, week: int, folder: Path) -> None:
    """Simulate the world with its contacts so far, cut it at the week's scoring day, let
    churnguard score it, make the strategy's contacts and judge them on that day's truth."""
    as_of = plan.scoring_days[week]
    full = folder / "full"
    config = loop_config(plan.effects, plan.customers, plan.seed, plan.scoring_days, world.outreach)
    generate_shop(config, full)
    truth = read_truth(full)
    truth = truth[truth["as_of"] == pd.Timestamp(as_of)].reset_index(drop=True)
    home = folder / "home"
    day = score_day(
        home, write_known_before(full, as_of, folder / "data"), as_of, plan.retrains(week)
    )
    queue, scores = day.queue, day.scores
    at = datetime.combine(as_of, CONTACT_HOUR)
    if world.strategy == "expected_saves":
        worked = work_the_queue(home, as_of)
        treated = worked[worked["group"] == "treated"]
        control = worked[worked["group"] == "control"]
        made = as_outreach(treated, at, True, treated["contact_id"]) + as_outreach(
            control, at, False, control["contact_id"]
        )
        contacts = queue[["customer_id", "playbook"]]
    else:
        history = pd.DataFrame(
            {
                "customer_id": [c.customer_id for c in world.outreach],
                "contacted_at": pd.to_datetime([c.contacted_at for c in world.outreach]),
            }
        )
        skipped = contacted_within(history, as_of, RULES.cooldown_days) | set(
            held_out_by_churnguard(home, as_of)["customer_id"]
        )
        rng = np.random.default_rng([plan.seed, week, STRATEGIES.index(world.strategy)])
        order = "value_at_risk" if world.strategy == "value_at_risk" else None
        contacts, control = pick_by(scores, len(queue), frozenset(skipped), rng, order)
        tag = f"{world.strategy}-{as_of.isoformat()}"
        made = as_outreach(
            contacts, at, True, pd.Series([f"{tag}-t{i}" for i in range(len(contacts))])
        ) + as_outreach(control, at, False, pd.Series([f"{tag}-c{i}" for i in range(len(control))]))
    value = scores.set_index("customer_id")["expected_value"]
    world.outreach = world.outreach + made
    world.weeks.append(
        Week(
            as_of=as_of,
            queue_size=len(queue),
            retrained=day.retrained,
            judged=judge(contacts, truth, value),
            held_out=len(control),
            source=day.source,
        )
    )


def final_interval(plan: LoopPlan, world: World, folder: Path) -> dict:
    """The control group over all weeks, measured on the world with every contact made: churn of
    control minus churn of treated in the horizon after each contact, against the truth."""
    full = folder / "final"
    generate_shop(
        loop_config(plan.effects, plan.customers, plan.seed, plan.scoring_days, world.outreach),
        full,
    )
    contacts = pd.read_parquet(full / "contacts.parquet")
    contacts = contacts[contacts["contacted_at"] >= pd.Timestamp(plan.first_day)]
    orders = pd.read_parquet(full / "orders.parquet", columns=["customer_id", "ordered_at"])
    return control_interval_of(contacts, read_truth(full), orders)


def summarize(world: World, interval: dict) -> dict:
    """A strategy's figures over all weeks."""
    contacts = sum(w.judged["contacts"] for w in world.weeks)
    saves = sum(w.judged["true_saves"] for w in world.weeks)
    best = sum(w.judged["best_possible_saves"] for w in world.weeks)
    return {
        "contacts": contacts,
        "true_saves": saves,
        "saves_per_100_contacts": 100 * saves / contacts if contacts else math.nan,
        "share_of_best": saves / best if best else math.nan,
        "revenue_saved": sum(w.judged["revenue_saved"] for w in world.weeks),
        "weekly_contacts": [w.judged["contacts"] for w in world.weeks],
        "weekly_share_of_best": [w.judged["share_of_best"] for w in world.weeks],
        "retrained": [w.retrained for w in world.weeks],
        "interval": interval,
        "source": [w.source for w in world.weeks],
    }


def run_loop(plan: LoopPlan, folder: Path) -> dict[str, dict]:
    """Every strategy's world through every week, then its control group measured."""
    out = {}
    for strategy in STRATEGIES:
        world = World(strategy)
        place = folder / strategy
        for week in range(plan.weeks):
            run_week(plan, world, week, place)
        out[strategy] = summarize(world, final_interval(plan, world, place))
    return out


__all__ = ["STRATEGIES", "LoopPlan", "pick_by", "run_loop"]
