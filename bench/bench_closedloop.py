"""Queues judged by the customers they save, on shops whose per-customer effect of a contact is
known: the issue's black-box protocol (ingest, train --promote, daily, queue export) on a shop
with past randomized campaigns, for several effect models (the simulator's own assumptions,
varied). Per shop: true saves of the exported queue against the best possible for as many
contacts, value at risk and random for as many contacts from the same scores, saves per 100
contacts, revenue saved, and whether the campaigns' control group's 95% interval covers the true
average effect.

Not yet closed-loop: one scoring day per shop; the queue's own contacts do not feed back into a
later retraining (the simulator cannot yet take contacts from outside).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.uplift_shops import control_interval, make_shop, run_protocol

SCALES = {
    "small": {"customers": 4_000, "models": ("recovery", "win-back")},
    "full": {"customers": 8_000, "models": ("recovery", "win-back", "uniform")},
}


def run(scale: str) -> dict[str, object]:
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
