"""The daily build: one call turns a day's scored customers into team queues and a control group.

Re-running a date that was already built writes nothing and returns the stored report with
`already_built=True`: a day's queues are a record of what was decided that day (agents may already
be working them, the control group must not change under the report), so a correction is a new
day's build, never a rewrite of an old one.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from outreach.playbooks import Playbooks, load_playbooks
from outreach.records import QueueRunReport
from outreach.rules import OutreachConfig, select_outreach
from outreach.store import OutreachStore, utcnow


@dataclass(frozen=True)
class OpenedDay:
    """A day made ready for building: stale items expired, then who is cooling down read."""

    expired: int
    cooling_down: frozenset[str]


def open_day(
    store: OutreachStore, as_of: date, config: OutreachConfig, contacted: Collection[str] = ()
) -> OpenedDay:
    """Expire stale unclaimed items, then read the cooldown set (in that order: an expired item no
    longer holds its customer). `contacted`: customers the imported contacts history says were
    contacted or held out within the cooldown (`features.contacts.contacted_within`); they cool down
    like the store's own. Callers that need the cooldown set before building pass this on."""
    expired = store.expire_unclaimed(before=as_of - timedelta(days=config.expire_after_days - 1))
    cooling = set(store.cooling_down(as_of, config.cooldown_days)) | set(contacted)
    return OpenedDay(expired, frozenset(cooling))


@dataclass(frozen=True)
class ReasonPlan:
    """Which customers to explain (reasons cost ~1 ms a row) and which the daily job can hand to the
    queue build: the best `budget` candidates by priority; the others above the probability floor
    rank below every explained one, so they count as over capacity."""

    explained: np.ndarray  # row positions to explain
    in_queue_run: np.ndarray  # bool per row: handed to the build
    over_capacity_before: int


def reason_budget(capacity: int, config: OutreachConfig, per_slot: int) -> int:
    """How many candidates to explain: `per_slot` per slot of daily capacity, grossed up for the
    control group that comes out of it."""
    return math.ceil(per_slot * capacity / (1 - config.control_fraction))


def plan_reasons(
    scores: pd.DataFrame,
    cooling_down: frozenset[str],
    config: OutreachConfig,
    budget: int,
    priority: str = "value_at_risk",
) -> ReasonPlan:
    """The customers worth explaining: above the probability floor, not cooling down, the `budget`
    highest by `priority` (value_at_risk or expected_saving; ties by probability)."""
    probability = scores["churn_probability"].to_numpy()
    above_floor = probability >= config.min_churn_probability
    cooling = scores["customer_id"].isin(cooling_down).to_numpy()
    positions = np.flatnonzero(above_floor & ~cooling)
    ranked = np.nan_to_num(scores[priority].to_numpy(dtype="float64")[positions], nan=-np.inf)
    order = np.lexsort((-probability[positions], -ranked))
    explained = positions[order[:budget]]
    in_queue_run = ~above_floor | cooling
    in_queue_run[explained] = True
    return ReasonPlan(explained, in_queue_run, int((~in_queue_run).sum()))


def build_daily_queues(
    store: OutreachStore,
    scored: pd.DataFrame,
    customers: pd.DataFrame | None,
    as_of: date,
    config: OutreachConfig | None = None,
    playbooks: Playbooks | None = None,
    model_version: str | None = None,
    over_capacity_before: int = 0,
    scored_total: int | None = None,
    opened: OpenedDay | None = None,
    savings: pd.DataFrame | None = None,
    saving_source: str | None = None,
    silent_since_contact: Collection[str] = (),
    languages: Mapping[str, str] | None = None,
) -> QueueRunReport:
    """Build the queues of `as_of`: expire stale unclaimed items, read who is cooling down, apply the
    rules (`outreach.rules.select_outreach`) and store items, control members and the run report.

    `scored`: customer_id, churn_probability, reasons (list of {code, sentence, contribution},
    strongest first), orders_365d, avg_order_value, tenure_days. `customers`: the contract's
    customers table (customer_id, preferred_channel, consent_email/phone/sms) or None.
    `over_capacity_before`: customers the caller already cut as ranking below any day's capacity (the
    daily job explains only the top candidates); they are counted as over_capacity, and
    `scored_total` (default len(scored)) is how many customers were scored in all. `opened`: the
    caller's `open_day` of this date, when it already opened it. `savings`: expected saving per
    playbook (rows as in `scored`; `outreach.rules.select_outreach`), and `saving_source` where
    they came from, for the report.
    `languages`: each customer's language (`features.language.customer_languages`); others
    get `config.default_language`.
    """
    config = config or OutreachConfig()
    playbooks = playbooks or load_playbooks()
    existing = store.run_report(as_of)
    if existing is not None:
        return existing.model_copy(update={"already_built": True})

    started_at = utcnow()
    opened = opened or open_day(store, as_of, config)
    selection = select_outreach(
        scored,
        customers,
        as_of,
        playbooks,
        config,
        opened.cooling_down,
        savings,
        silent_since_contact,
        languages=languages,
    )
    report = QueueRunReport(
        queue_date=as_of,
        period=selection.period,
        scored=selection.scored if scored_total is None else scored_total,
        queued=len(selection.items),
        expired=opened.expired,
        queued_by_team=selection.queued_by_team,
        playbook_version=playbooks.version,
        model_version=model_version,
        saving_source=saving_source,
        started_at=started_at,
        finished_at=utcnow(),
        **{
            **selection.excluded,
            "over_capacity": selection.excluded["over_capacity"] + over_capacity_before,
        },
    )
    if not store.save_day(report, selection.items, selection.control):
        stored = store.run_report(as_of)
        return stored.model_copy(update={"already_built": True})
    return report
