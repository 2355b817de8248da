"""Queues judged by the customers they save, on shops whose per-customer effect of a contact is
known, for several effect models (the simulator's own assumptions, varied).

One scoring day (`python -m bench closedloop`): the issue's black-box protocol (ingest, train
--promote, daily, queue export) on a shop with past randomized campaigns. Per shop: true saves of
the exported queue against the best possible for as many contacts, value at risk and random for
as many contacts from the same scores, saves per 100 contacts, revenue saved, and whether the
campaigns' control group's 95% interval covers the true average effect.

The closed loop (`python -m bench closedloop --weeks W`, `bench/closed_loop.py`): W weekly
scoring days; each strategy (churnguard's queue, value at risk, random) contacts as many customers
as churnguard queues, in its own world; the contacts and the held-out control go back into the
shop (the simulator applies them) and into the next ingest and retraining (every 2 weeks). Per
strategy over all weeks: contacts, true saves, saves per 100, share of best, revenue saved, and
whether its control group's 95% interval covers the true average effect of its contacts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.closed_loop import STRATEGIES, LoopPlan, run_loop
from bench.uplift_shops import control_interval, make_shop, run_protocol

SCALES = {
    # the closed loop (--weeks) runs the first two models only: each costs ~6 minutes a model
    "small": {"customers": 4_000, "models": ("recovery", "win-back", "uniform"), "loop_models": 2},
    "full": {"customers": 8_000, "models": ("recovery", "win-back", "uniform")},
}


def run(scale: str, weeks: int = 0) -> dict[str, object]:
    """One scoring day per shop, or with `weeks` the closed loop over that many weekly days."""
    if weeks:
        return run_weeks(scale, weeks)
    figures: dict[str, object] = {}
    plan = SCALES[scale]
    for effects in plan["models"]:
        with tempfile.TemporaryDirectory(prefix=f"closedloop_{effects}_") as tmp:
            shop = make_shop(Path(tmp), effects, customers=plan["customers"], seed=1)
            judged = run_protocol(shop, Path(tmp))
            interval = control_interval(shop)
        ours, risk, random = judged["expected_saves"], judged["value_at_risk"], judged["random"]
        prefix = f"{effects}:"
        figures.update(
            {
                f"{prefix} contacts": ours["contacts"],
                f"{prefix} share of best, expected saves": round(ours["share_of_best"], 3),
                f"{prefix} share of best, value at risk": round(risk["share_of_best"], 3),
                f"{prefix} share of best, random": round(random["share_of_best"], 3),
                f"{prefix} share of best customers (at their best playbook), expected saves": round(
                    ours["share_of_best_customers"], 3
                ),
                f"{prefix} share of best customers (at their best playbook), value at risk": round(
                    risk["share_of_best_customers"], 3
                ),
                f"{prefix} share of best, effect regression on features (ceiling)": round(
                    judged["ceiling"], 3
                ),
                f"{prefix} saves/100, expected saves": round(ours["saves_per_100_contacts"], 2),
                f"{prefix} saves/100, value at risk": round(risk["saves_per_100_contacts"], 2),
                f"{prefix} saves/100, random": round(random["saves_per_100_contacts"], 2),
                f"{prefix} saves per contact vs value at risk": round(
                    ours["true_saves"] / risk["true_saves"], 2
                )
                if risk["true_saves"] > 0
                else "value at risk saves none",
                f"{prefix} revenue saved, expected saves": round(ours["revenue_saved"]),
                f"{prefix} revenue saved, value at risk": round(risk["revenue_saved"]),
                f"{prefix} sleeping dogs queued": ours["sleeping_dogs_queued"],
                f"{prefix} control interval": f"[{interval['interval_low']:.4f}, "
                f"{interval['interval_high']:.4f}] vs true {interval['true_average_effect']:.4f}",
                f"{prefix} control interval covers": interval["covers"],
                f"{prefix} priority source": judged["source"],
            }
        )
    return figures


def run_weeks(scale: str, weeks: int) -> dict[str, object]:
    figures: dict[str, object] = {}
    plan = SCALES[scale]
    for effects in plan["models"][: plan.get("loop_models")]:
        loop = LoopPlan(effects=effects, customers=plan["customers"], weeks=weeks)
        with tempfile.TemporaryDirectory(prefix=f"closedloop_{effects}_weeks_") as tmp:
            judged = run_loop(loop, Path(tmp))
        prefix = f"{effects}:"
        ours, risk = judged["expected_saves"], judged["value_at_risk"]
        figures[f"{prefix} retrained"] = ours["retrained"]
        figures[f"{prefix} priority source"] = ours["source"]
        for strategy in STRATEGIES:
            got = judged[strategy]
            interval = got["interval"]
            name = strategy.replace("_", " ")
            figures.update(
                {
                    f"{prefix} contacts, {name}": got["contacts"],
                    f"{prefix} true saves, {name}": round(got["true_saves"], 2),
                    f"{prefix} saves/100, {name}": round(got["saves_per_100_contacts"], 2),
                    f"{prefix} share of best, {name}": round(got["share_of_best"], 3),
                    f"{prefix} weekly contacts, {name}": got["weekly_contacts"],
                    f"{prefix} weekly share of best, {name}": [
                        round(share, 3) for share in got["weekly_share_of_best"]
                    ],
                    f"{prefix} revenue saved, {name}": round(got["revenue_saved"]),
                    f"{prefix} control interval, {name}": f"[{interval['interval_low']:.4f}, "
                    f"{interval['interval_high']:.4f}] vs true {interval['true_average_effect']:.4f}"
                    f" ({interval['treated']} treated, {interval['control']} control)",
                    f"{prefix} control interval covers, {name}": interval["covers"],
                }
            )
        per_contact = ours["true_saves"] / ours["contacts"] if ours["contacts"] else float("nan")
        theirs = risk["true_saves"] / risk["contacts"] if risk["contacts"] else float("nan")
        figures[f"{prefix} saves per contact vs value at risk"] = (
            round(per_contact / theirs, 2) if theirs > 0 else "value at risk saves none"
        )
    return figures
