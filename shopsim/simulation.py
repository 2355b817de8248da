"""The shop as an event simulation over arrays: all customers advance together one time step at a time.

Within a step each live customer has a constant order intensity and a constant dropout hazard, so the
simulator's own churn probability (`true_churn_probability`) is exact, not estimated. Bad experiences
(late or failed deliveries, low ratings, complaints) add to the hazard and lower the order intensity;
the excess fades with a half-life. Times are float days since the start of the shop.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import TypeVar

import numpy as np

from features.contract import CONTACT_CHANNELS, DELIVERY_STATUSES, FEEDBACK_CHANNELS, ORDER_STATUSES
from shopsim.config import CAMPAIGN_PLAYBOOKS, ShopConfig
from shopsim.contacts import (
    ContactArrays,
    draw_responses,
    no_contacts,
    outreach_by_day,
    run_campaign,
    run_outreach,
    true_effects,
)
from shopsim.texts import TextBucket

ORDER_STATUS = {name: code for code, name in enumerate(ORDER_STATUSES)}
DELIVERY_STATUS = {name: code for code, name in enumerate(DELIVERY_STATUSES)}
FEEDBACK_CHANNEL = {name: code for code, name in enumerate(FEEDBACK_CHANNELS)}
NO_DELIVERY = -1


class Outcome(IntEnum):
    """What happened to an order, as the customer lived it (whether or not it is known by the end)."""

    ON_TIME = 0
    LATE = 1
    VERY_LATE = 2  # four days or more
    FAILED = 3
    RETURNED = 4
    CANCELLED = 5


# Per outcome: chance of a review (times the customer's propensity), star distribution 1..5, and
# chance of a support ticket.
_REVIEW_PROBABILITY = np.array([0.10, 0.18, 0.25, 0.30, 0.30, 0.0])
_STARS = np.array(
    [
        [0.02, 0.03, 0.10, 0.30, 0.55],
        [0.08, 0.15, 0.30, 0.30, 0.17],
        [0.30, 0.30, 0.22, 0.12, 0.06],
        [0.60, 0.22, 0.10, 0.05, 0.03],
        [0.25, 0.30, 0.25, 0.12, 0.08],
        [0.20, 0.20, 0.20, 0.20, 0.20],
    ]
)
_STAR_CDF = np.cumsum(_STARS, axis=1)
_TICKET_PROBABILITY = np.array([0.012, 0.15, 0.35, 0.55, 0.30, 0.0])
_PRAISE_PROBABILITY = 0.01  # an unsolicited compliment after a good delivery

T = TypeVar("T")


@dataclass
class CustomerArrays:
    """Who the customers are and their latent traits; index i is customer C{i+1}."""

    signup_day: np.ndarray  # float64, sorted ascending
    region: np.ndarray  # int8 index into config.regions
    order_rate: np.ndarray  # orders per day in a good mood
    base_hazard: np.ndarray  # dropout per day without bad experiences
    mean_amount: np.ndarray
    feedback_propensity: np.ndarray  # 0 for silent customers
    orders_at_signup: np.ndarray  # bool
    preferred_channel: np.ndarray  # int8 index into CONTACT_CHANNELS
    consent_email: np.ndarray
    consent_phone: np.ndarray
    consent_sms: np.ndarray


@dataclass
class OrderArrays:
    """One row per order, in time order; deliveries are the rows with a delivery status."""

    customer: np.ndarray  # int32
    ordered_day: np.ndarray
    amount: np.ndarray
    status: np.ndarray  # int8 index into ORDER_STATUSES
    outcome: np.ndarray  # int8 Outcome
    delivery_status: np.ndarray  # int8 index into DELIVERY_STATUSES, NO_DELIVERY when cancelled
    promised_day: np.ndarray
    delivered_day: np.ndarray  # NaN while not delivered


@dataclass
class FeedbackArrays:
    """One row per piece of feedback, in time order."""

    customer: np.ndarray  # int32
    order: np.ndarray  # int64 row in OrderArrays, -1 when about no order
    created_day: np.ndarray
    channel: np.ndarray  # int8 index into FEEDBACK_CHANNELS
    rating: np.ndarray  # int8 1..5, 0 for none
    text_bucket: np.ndarray  # int8 TextBucket
    has_text: np.ndarray  # bool


@dataclass
class TruthArrays:
    """The simulator's churn probability for customers active at each as-of day, and what happened."""

    as_of_day: np.ndarray  # int32 days since start
    customer: np.ndarray  # int32
    churn_probability: np.ndarray
    churned: np.ndarray  # bool: no order in [as_of, as_of + horizon)
    effect: (
        np.ndarray
    )  # (rows, CAMPAIGN_PLAYBOOKS): drop in churn probability a contact at as_of causes
    response: np.ndarray  # int8 shopsim.contacts.Response


@dataclass
class Simulation:
    """Everything the simulator produced, before it is written."""

    customers: CustomerArrays
    orders: OrderArrays
    feedback: FeedbackArrays
    truth: TruthArrays
    dropout_day: np.ndarray  # per customer, inf if still buying at the end
    contacts: ContactArrays


def true_churn_probability(
    order_rate: np.ndarray, hazard: np.ndarray, step_days: np.ndarray
) -> np.ndarray:
    """P(no order in the horizon) for customers alive at its start, given piecewise-constant order
    intensity mu_k and dropout hazard h_k over steps of L_k days (arrays shaped (customers, steps)).

    Orders and dropout compete; after dropout no order ever comes, so with S_k = exp(-(mu_k + h_k) L_k):
        P = sum_k (prod_{j<k} S_j) * h_k / (mu_k + h_k) * (1 - S_k)  +  prod_k S_k
    (drop out before the first order in step k, or neither order nor drop out in any step). The
    hazard path is the one the customer follows if no order comes, which is known at the start: the
    current excess fading, plus the pending consequences of earlier orders. Customers already gone
    have probability 1.
    """
    order_rate = np.atleast_2d(order_rate)
    hazard = np.atleast_2d(hazard)
    survive = np.ones(order_rate.shape[0])
    churn = np.zeros(order_rate.shape[0])
    for k, days in enumerate(np.asarray(step_days, dtype=float)):
        survive, churn = _churn_step(survive, churn, order_rate[:, k], hazard[:, k], days)
    return churn + survive


def _churn_step(
    survive: np.ndarray, churn: np.ndarray, order_rate: np.ndarray, hazard: np.ndarray, days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Advance `true_churn_probability` by one step: (P(no order, still alive), P(gone before any order))."""
    total = order_rate + hazard
    stay = np.exp(-total * days)
    return survive * stay, churn + survive * (hazard / total) * (1.0 - stay)


def draw_customers(config: ShopConfig, rng: np.random.Generator) -> CustomerArrays:
    """Customers with heterogeneous rates, baskets and voices, signing up more often as the shop grows."""
    n = config.customers
    dyn = config.dynamics
    # Signup density grows linearly, f(x) ∝ 1 + g x on [0, 1); invert its CDF.
    g = dyn.signup_growth
    u = rng.random(n)
    x = u if g == 0 else (np.sqrt(1.0 + 2.0 * g * u * (1.0 + g / 2.0)) - 1.0) / g
    signup_day = at_shopping_hours(np.sort(x * config.period_days))
    shares = np.array([r.share for r in config.regions])
    region = rng.choice(len(shares), size=n, p=shares).astype(np.int8)
    order_rate = rng.gamma(dyn.order_rate_shape, dyn.mean_order_rate / dyn.order_rate_shape, n)
    base_hazard = rng.gamma(2.0, dyn.base_dropout_hazard / 2.0, n) + 1e-6
    sigma = dyn.customer_value_sigma
    mean_amount = rng.lognormal(math.log(dyn.mean_order_value) - sigma**2 / 2, sigma, n)
    silent = rng.random(n) < dyn.silent_share
    feedback_propensity = np.where(silent, 0.0, rng.gamma(2.0, 0.5, n))
    orders_at_signup = rng.random(n) < dyn.first_order_probability
    preferred_channel = rng.choice(len(CONTACT_CHANNELS), size=n, p=[0.6, 0.15, 0.25]).astype(
        np.int8
    )
    prefers = {name: preferred_channel == code for code, name in enumerate(CONTACT_CHANNELS)}
    consent_email = rng.random(n) < np.where(prefers["email"], 0.92, 0.65)
    consent_phone = rng.random(n) < np.where(prefers["phone"], 0.85, 0.15)
    consent_sms = rng.random(n) < np.where(prefers["sms"], 0.88, 0.30)
    return CustomerArrays(
        signup_day=signup_day,
        region=region,
        order_rate=order_rate,
        base_hazard=base_hazard,
        mean_amount=mean_amount,
        feedback_propensity=feedback_propensity,
        orders_at_signup=orders_at_signup,
        preferred_channel=preferred_channel,
        consent_email=consent_email,
        consent_phone=consent_phone,
        consent_sms=consent_sms,
    )


def step_edges(config: ShopConfig) -> np.ndarray:
    """Step boundaries in days: every `step_days`, plus each truth as-of day and horizon end, so the
    truth windows are whole steps, and each day of a campaign or of the shop's own outreach, so
    contacts act at the start of a step as the truth at that day assumes."""
    edges = set(range(0, config.period_days, config.step_days)) | {config.period_days}
    for as_of in config.resolved_truth_as_of():
        day = (as_of - config.start).days
        edges |= {day, day + config.truth_horizon_days}
    edges |= set(config.campaign_days())
    edges |= set(outreach_by_day(config))
    return np.array(sorted(edges), dtype=np.float64)


# Share of a day's orders by hour: quiet at night, a lunch bump, the peak in the evening.
_HOURLY = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.5,
        1,
        2,
        3,
        4,
        4.5,
        5,
        5.5,
        5,
        4.5,
        4.5,
        5,
        5.5,
        6.5,
        7.5,
        8,
        7,
        5,
        2.5,
    ]
)
_HOURLY_CDF = np.concatenate([[0.0], np.cumsum(_HOURLY) / _HOURLY.sum()])


def at_shopping_hours(day: np.ndarray) -> np.ndarray:
    """Move each time within its own day so the hours follow `_HOURLY`; the day never changes, so
    counts per day (and per step, whose edges are whole days) keep their Poisson law."""
    whole = np.floor(day)
    fraction = np.interp(day - whole, _HOURLY_CDF, np.linspace(0.0, 1.0, 25))
    return whole + np.minimum(fraction, np.nextafter(1.0, 0.0))


def at_delivery_hours(day: np.ndarray) -> np.ndarray:
    """Squeeze each time into 08:00-20:00 of its own day, when couriers drive; a delivery promised
    for 18:00 stays on time or late as it was."""
    whole = np.floor(day)
    return whole + (8.0 + 12.0 * (day - whole)) / 24.0


def seasonality(config: ShopConfig, day: float) -> float:
    """Multiplier of every order rate on a given day: busier towards mid-December."""
    day_of_year = (config.start + timedelta(days=day)).timetuple().tm_yday
    return 1.0 + config.dynamics.seasonality * math.cos(2 * math.pi * (day_of_year - 350) / 365.25)


@dataclass
class _TruthTracker:
    """Accumulates `true_churn_probability` step by step for the customers active at one as-of day."""

    as_of_day: int
    first_step: int
    end_step: int  # exclusive
    population: np.ndarray  # customer indices
    excess: np.ndarray  # counterfactual excess hazard of all customers: no orders after as_of
    survive: np.ndarray
    churn: np.ndarray
    ordered: np.ndarray  # bool over all customers: ordered within the window
    effect: np.ndarray  # (population, CAMPAIGN_PLAYBOOKS)
    response: np.ndarray

    def advance(
        self, customers: CustomerArrays, season: float, disengagement: float, days: float
    ) -> None:
        """One step of `true_churn_probability` along the no-order hazard path."""
        pop = self.population
        excess = self.excess[pop]
        self.survive, self.churn = _churn_step(
            self.survive,
            self.churn,
            customers.order_rate[pop] * season * np.exp(-disengagement * excess),
            customers.base_hazard[pop] + excess,
            days,
        )

    def result(self) -> TruthArrays:
        pop = self.population
        return TruthArrays(
            as_of_day=np.full(pop.size, self.as_of_day, dtype=np.int32),
            customer=pop.astype(np.int32),
            churn_probability=np.clip(self.churn + self.survive, 0.0, 1.0),
            churned=~self.ordered[pop],
            effect=self.effect,
            response=self.response,
        )


@dataclass
class _Shocks:
    """Hazard increases scheduled for a later step, remembering the step of the order behind them."""

    customer: np.ndarray
    amount: np.ndarray
    origin_step: np.ndarray


def simulate(config: ShopConfig) -> Simulation:
    """Run the shop from start to end; deterministic in `config`."""
    rng = np.random.default_rng(config.seed)
    dyn = config.dynamics
    n = config.customers
    customers = draw_customers(config, rng)
    edges = step_edges(config)
    n_steps = len(edges) - 1
    period = float(config.period_days)
    decay_per_day = math.log(2) / dyn.shock_half_life_days
    response, strength = draw_responses(config, n)
    campaign_rng = np.random.default_rng([config.seed, 3])
    campaign_steps = {int(np.searchsorted(edges, d)): d for d in config.campaign_days()}
    # Its own generator: the shop's outreach never shifts the campaigns' draws.
    outreach_rng = np.random.default_rng([config.seed, 4])
    outreach_steps = {
        int(np.searchsorted(edges, d)): (d, rows) for d, rows in outreach_by_day(config).items()
    }
    contact_chunks: list[ContactArrays] = []
    as_of_steps = {
        int(np.searchsorted(edges, (d - config.start).days)): (d - config.start).days
        for d in config.resolved_truth_as_of()
    }

    alive = np.ones(n, dtype=bool)
    dropout_day = np.full(n, np.inf)
    excess = np.zeros(n)
    last_order = np.full(n, -np.inf)
    pending: defaultdict[int, list[_Shocks]] = defaultdict(list)
    trackers: list[_TruthTracker] = []
    order_chunks: list[OrderArrays] = []
    feedback_chunks: list[FeedbackArrays] = []
    truth_chunks: list[TruthArrays] = []
    orders_so_far = 0
    previous_days = 0.0

    for step in range(n_steps):
        t0, t1 = edges[step], edges[step + 1]
        days = t1 - t0
        fade = math.exp(-decay_per_day * previous_days)
        excess *= fade
        for tracker in trackers:
            tracker.excess *= fade
        if step in pending:
            shocks = pending.pop(step)
            who = np.concatenate([s.customer for s in shocks])
            amount = np.concatenate([s.amount for s in shocks])
            origin = np.concatenate([s.origin_step for s in shocks])
            excess += np.bincount(who, weights=amount, minlength=n)
            for tracker in trackers:
                known = origin < tracker.first_step
                tracker.excess += np.bincount(who[known], weights=amount[known], minlength=n)

        if step in as_of_steps:
            as_of_day = as_of_steps[step]
            end_step = int(np.searchsorted(edges, as_of_day + config.truth_horizon_days))
            population = np.flatnonzero(last_order >= as_of_day - config.truth_lookback_days)
            effect = true_effects(
                config,
                population,
                float(as_of_day),
                seasonality(config, float(as_of_day)),
                (alive, excess, dropout_day, last_order),
                (customers.order_rate, customers.base_hazard, response, strength),
            )
            trackers.append(
                _TruthTracker(
                    as_of_day=as_of_day,
                    first_step=step,
                    end_step=end_step,
                    population=population,
                    excess=excess.copy(),
                    survive=alive[population].astype(np.float64),
                    churn=(~alive[population]).astype(np.float64),
                    ordered=np.zeros(n, dtype=bool),
                    effect=effect,
                    response=response[population],
                )
            )

        if step in campaign_steps:
            contact_chunks.append(
                run_campaign(
                    config,
                    float(campaign_steps[step]),
                    last_order,
                    (customers.signup_day, customers.order_rate),
                    (alive, excess, dropout_day),
                    response,
                    strength,
                    campaign_rng,
                )
            )
        if step in outreach_steps:
            contact_chunks.append(
                run_outreach(
                    config,
                    *outreach_steps[step],
                    last_order,
                    customers.order_rate,
                    (alive, excess, dropout_day),
                    response,
                    strength,
                    outreach_rng,
                )
            )

        season = seasonality(config, (t0 + t1) / 2)
        for tracker in trackers:
            tracker.advance(customers, season, dyn.disengagement, days)

        order_customer, order_day, gone, gone_day = _draw_orders(
            customers, alive, excess, t0, t1, season, dyn.disengagement, rng
        )
        alive[gone] = False
        dropout_day[gone] = gone_day
        np.maximum.at(last_order, order_customer, order_day)

        orders, feedback, shocks = _deliver_and_react(
            config, customers, order_customer, order_day, orders_so_far, rng
        )
        order_chunks.append(orders)
        feedback_chunks.append(feedback)
        orders_so_far += order_customer.size
        _schedule(pending, shocks, edges, step)

        for tracker in trackers:
            tracker.ordered[order_customer] = True
        for tracker in [t for t in trackers if t.end_step == step + 1]:
            trackers.remove(tracker)
            truth_chunks.append(tracker.result())
        previous_days = days

    return Simulation(
        customers=customers,
        orders=_concat(OrderArrays, order_chunks),
        feedback=_sort_feedback(_concat(FeedbackArrays, feedback_chunks), period),
        truth=_concat(TruthArrays, truth_chunks or [_no_truth()]),
        dropout_day=dropout_day,
        contacts=_in_time_order(_concat(ContactArrays, contact_chunks))
        if contact_chunks
        else no_contacts(),
    )


def _draw_orders(
    customers: CustomerArrays,
    alive: np.ndarray,
    excess: np.ndarray,
    t0: float,
    t1: float,
    season: float,
    disengagement: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step of ordering: live customers order as a Poisson process until they drop out (if they
    do in this step); new customers mostly order as they sign up. Returns the orders (customer,
    day) in time order and the customers who dropped out with the day they did."""
    live = np.flatnonzero(alive[: np.searchsorted(customers.signup_day, t1)])
    begin = np.maximum(customers.signup_day[live], t0)
    exposure = t1 - begin
    hazard = customers.base_hazard[live] + excess[live]
    intensity = customers.order_rate[live] * season * np.exp(-disengagement * excess[live])
    drop_after = rng.exponential(1.0 / hazard)
    counts = rng.poisson(intensity * exposure)
    row = np.repeat(np.arange(live.size), counts)
    offset = rng.random(row.size) * exposure[row]
    kept = offset < drop_after[row]
    customer = live[row[kept]]
    day = np.maximum(
        at_shopping_hours(begin[row[kept]] + offset[kept]), customers.signup_day[customer]
    )
    signing_up = live[(customers.signup_day[live] >= t0) & customers.orders_at_signup[live]]
    customer = np.concatenate([signing_up, customer]).astype(np.int32)
    day = np.concatenate(
        [customers.signup_day[signing_up] + rng.random(signing_up.size) * 0.01, day]
    )
    day = np.minimum(day, np.nextafter(t1, t0))
    by_time = np.argsort(day, kind="stable")
    gone = drop_after < exposure
    return customer[by_time], day[by_time], live[gone], begin[gone] + drop_after[gone]


def _deliver_and_react(
    config: ShopConfig,
    customers: CustomerArrays,
    customer: np.ndarray,
    ordered_day: np.ndarray,
    first_row: int,
    rng: np.random.Generator,
) -> tuple[OrderArrays, FeedbackArrays, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Amounts, delivery promises and outcomes of one step's orders, the feedback they provoke and
    the hazard shocks (customer, amount, day) they will cause."""
    dyn = config.dynamics
    n = customer.size
    period = float(config.period_days)
    region = customers.region[customer]
    amount = np.round(
        customers.mean_amount[customer]
        * rng.lognormal(-(dyn.order_value_sigma**2) / 2, dyn.order_value_sigma, n),
        2,
    )

    promise_days = np.array([r.promise_days for r in config.regions])[region]
    promised_day = np.floor(ordered_day) + promise_days + rng.integers(0, 2, n) + 0.75
    late_p = np.array([r.late_probability for r in config.regions])[region]
    failed_p = np.array([r.failed_probability for r in config.regions])[region]
    region_code = {r.name: code for code, r in enumerate(config.regions)}
    for incident in config.resolved_incidents():
        hit = (
            (region == region_code[incident.region])
            & (ordered_day >= (incident.start - config.start).days)
            & (ordered_day < (incident.end - config.start).days)
        )
        late_p = np.where(hit, incident.late_probability, late_p)
        failed_p = np.where(hit, incident.failed_probability, failed_p)

    cancelled = rng.random(n) < dyn.cancel_probability
    u = rng.random(n)
    failed = ~cancelled & (u < failed_p)
    late = ~cancelled & ~failed & (u < failed_p + late_p)
    days_late = np.where(late, 0.3 + rng.gamma(1.6, 1.8, n), 0.0)
    on_time_day = ordered_day + (promised_day - ordered_day) * (0.3 + 0.7 * rng.random(n))
    arrival_day = np.maximum(
        at_delivery_hours(np.where(late, promised_day + days_late, on_time_day)), ordered_day + 0.1
    )
    failure_day = promised_day + 1.0 + 3.0 * rng.random(n)
    returned = (
        ~cancelled
        & ~failed
        & (rng.random(n) < np.where(late, dyn.return_probability_if_late, dyn.return_probability))
    )
    return_day = arrival_day + 2.0 + 12.0 * rng.random(n)

    outcome = np.full(n, Outcome.ON_TIME, dtype=np.int8)
    outcome[late] = Outcome.LATE
    outcome[late & (days_late >= 4)] = Outcome.VERY_LATE
    outcome[returned] = Outcome.RETURNED
    outcome[failed] = Outcome.FAILED
    outcome[cancelled] = Outcome.CANCELLED

    # What is known at the end of the shop: later arrivals are still in transit.
    settled_day = np.where(failed, failure_day, arrival_day)
    in_transit = ~cancelled & (settled_day >= period)
    delivery_status = np.full(n, DELIVERY_STATUS["delivered"], dtype=np.int8)
    delivery_status[returned & (return_day < period)] = DELIVERY_STATUS["returned"]
    delivery_status[failed] = DELIVERY_STATUS["failed"]
    delivery_status[in_transit] = DELIVERY_STATUS["in_transit"]
    delivery_status[cancelled] = NO_DELIVERY
    delivered_day = np.where(
        (delivery_status == DELIVERY_STATUS["delivered"])
        | (delivery_status == DELIVERY_STATUS["returned"]),
        arrival_day,
        np.nan,
    )
    status = np.full(n, ORDER_STATUS["delivered"], dtype=np.int8)
    status[delivery_status == DELIVERY_STATUS["returned"]] = ORDER_STATUS["returned"]
    status[in_transit] = np.where(
        period - ordered_day[in_transit] < 1.0, ORDER_STATUS["placed"], ORDER_STATUS["shipped"]
    )
    # A failed delivery goes back to the shop and the order is refunded: cancelled, like the
    # orders cancelled before shipping (which have no delivery row).
    status[(delivery_status == DELIVERY_STATUS["failed"]) | cancelled] = ORDER_STATUS["cancelled"]

    orders = OrderArrays(
        customer=customer,
        ordered_day=ordered_day,
        amount=amount,
        status=status,
        outcome=outcome,
        delivery_status=delivery_status,
        promised_day=promised_day,
        delivered_day=delivered_day,
    )
    feedback, feedback_shocks = _feedback(
        config,
        customers,
        customer,
        outcome,
        first_row,
        rng,
        moments=(ordered_day, promised_day, arrival_day, failure_day, return_day),
    )
    shock_customer = [customer[late], customer[failed], customer[returned], feedback_shocks[0]]
    shock_amount = [
        dyn.shock_late + dyn.shock_late_per_day * np.minimum(days_late[late], 10.0),
        np.full(int(failed.sum()), dyn.shock_failed),
        np.full(int(returned.sum()), dyn.shock_returned),
        feedback_shocks[1],
    ]
    shock_day = [promised_day[late], failure_day[failed], return_day[returned], feedback_shocks[2]]
    shocks = (
        np.concatenate(shock_customer).astype(np.int32),
        np.concatenate(shock_amount),
        np.concatenate(shock_day),
    )
    return orders, feedback, shocks


def _feedback(
    config: ShopConfig,
    customers: CustomerArrays,
    customer: np.ndarray,
    outcome: np.ndarray,
    first_row: int,
    rng: np.random.Generator,
    moments: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[FeedbackArrays, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Reviews, survey answers, tickets and compliments about one step's orders, with the shocks that
    low ratings and complaints add to the customer's dropout hazard."""
    dyn = config.dynamics
    ordered_day, promised_day, arrival_day, failure_day, return_day = moments
    n = customer.size
    order_row = first_row + np.arange(n, dtype=np.int64)
    voice = customers.feedback_propensity[customer]
    settled_day = np.select(
        [outcome == Outcome.FAILED, outcome == Outcome.RETURNED],
        [failure_day, return_day],
        arrival_day,
    )

    # Reviews and survey answers: a rating, with text for most reviews.
    reviewed = np.flatnonzero(
        rng.random(n) < np.minimum(_REVIEW_PROBABILITY[outcome] * voice, 0.95)
    )
    r_outcome = outcome[reviewed]
    stars = 1 + (rng.random(reviewed.size)[:, None] > _STAR_CDF[r_outcome]).sum(axis=1)
    stars = np.minimum(stars, 5).astype(np.int8)
    survey = rng.random(reviewed.size) < 0.2
    review_bucket = (stars - 1).astype(np.int8)
    low = stars <= 2
    review_bucket[low & np.isin(r_outcome, (Outcome.LATE, Outcome.VERY_LATE))] = (
        TextBucket.REVIEW_LOW_LATE
    )
    review_bucket[low & (r_outcome == Outcome.FAILED)] = TextBucket.REVIEW_LOW_FAILED
    review_bucket[low & (r_outcome == Outcome.RETURNED)] = TextBucket.REVIEW_LOW_RETURNED
    good_but_late = (stars >= 4) & (r_outcome == Outcome.VERY_LATE)
    review_bucket[good_but_late] = TextBucket.REVIEW_GOOD_BUT_LATE
    review_day = settled_day[reviewed] + 0.2 + rng.exponential(3.0, reviewed.size)
    review_channel = np.where(survey, FEEDBACK_CHANNEL["survey"], FEEDBACK_CHANNEL["review"])
    review_text = ~survey & (rng.random(reviewed.size) < 0.75)

    # Support contacts: complaints while waiting or after a failure or return; questions otherwise.
    ticketed = np.flatnonzero(
        rng.random(n) < np.minimum(_TICKET_PROBABILITY[outcome] * voice, 0.95)
    )
    t_outcome = outcome[ticketed]
    ticket_bucket = np.select(
        [
            np.isin(t_outcome, (Outcome.LATE, Outcome.VERY_LATE)),
            t_outcome == Outcome.FAILED,
            t_outcome == Outcome.RETURNED,
        ],
        [TextBucket.TICKET_LATE, TextBucket.TICKET_FAILED, TextBucket.TICKET_RETURNED],
        TextBucket.TICKET_QUESTION,
    ).astype(np.int8)
    ticket_day = np.select(
        [
            np.isin(t_outcome, (Outcome.LATE, Outcome.VERY_LATE)),
            t_outcome == Outcome.FAILED,
            t_outcome == Outcome.RETURNED,
        ],
        [
            promised_day[ticketed] + 0.1 + 2.0 * rng.random(ticketed.size),
            failure_day[ticketed] + 0.5 * rng.random(ticketed.size),
            return_day[ticketed] + 7.0 * rng.random(ticketed.size),
        ],
        ordered_day[ticketed] + 0.1 + 3.0 * rng.random(ticketed.size),
    )
    ticket_channel = rng.choice(
        np.array([FEEDBACK_CHANNEL[c] for c in ("ticket", "chat", "social")]),
        size=ticketed.size,
        p=[0.65, 0.25, 0.10],
    ).astype(np.int8)
    complaint = ticket_bucket != TextBucket.TICKET_QUESTION

    # Compliments on social media after a good delivery, often not naming the order.
    praised = np.flatnonzero(
        (outcome == Outcome.ON_TIME) & (rng.random(n) < _PRAISE_PROBABILITY * voice)
    )
    praise_day = arrival_day[praised] + rng.exponential(2.0, praised.size)

    social = ticket_channel == FEEDBACK_CHANNEL["social"]
    ticket_order = np.where(social & (rng.random(ticketed.size) < 0.3), -1, order_row[ticketed])
    praise_order = np.where(rng.random(praised.size) < 0.5, -1, order_row[praised])
    feedback = FeedbackArrays(
        customer=np.concatenate([customer[reviewed], customer[ticketed], customer[praised]]),
        order=np.concatenate([order_row[reviewed], ticket_order, praise_order]),
        created_day=np.concatenate([review_day, ticket_day, praise_day]),
        channel=np.concatenate(
            [review_channel, ticket_channel, np.full(praised.size, FEEDBACK_CHANNEL["social"])]
        ).astype(np.int8),
        rating=np.concatenate([stars, np.zeros(ticketed.size + praised.size, dtype=np.int8)]),
        text_bucket=np.concatenate(
            [review_bucket, ticket_bucket, np.full(praised.size, TextBucket.PRAISE)]
        ).astype(np.int8),
        has_text=np.concatenate([review_text, np.ones(ticketed.size + praised.size, dtype=bool)]),
    )
    rating_shock = np.select(
        [stars <= 2, stars == 3], [dyn.shock_low_rating, dyn.shock_mid_rating], 0.0
    )
    shocks = (
        np.concatenate([customer[reviewed], customer[ticketed[complaint]]]),
        np.concatenate([rating_shock, np.full(int(complaint.sum()), dyn.shock_ticket)]),
        np.concatenate([review_day, ticket_day[complaint]]),
    )
    return feedback, shocks


def _no_truth() -> TruthArrays:
    """No as-of date fits in a short shop."""
    return TruthArrays(
        as_of_day=np.zeros(0, dtype=np.int32),
        customer=np.zeros(0, dtype=np.int32),
        churn_probability=np.zeros(0),
        churned=np.zeros(0, dtype=bool),
        effect=np.zeros((0, len(CAMPAIGN_PLAYBOOKS))),
        response=np.zeros(0, dtype=np.int8),
    )


def _schedule(
    pending: defaultdict[int, list[_Shocks]],
    shocks: tuple[np.ndarray, np.ndarray, np.ndarray],
    edges: np.ndarray,
    step: int,
) -> None:
    """File shocks under the step their day falls in (never the current one, which already started);
    shocks after the end of the shop are dropped."""
    who, amount, day = shocks
    target = np.maximum(np.searchsorted(edges, day, side="right") - 1, step + 1)
    keep = (target < len(edges) - 1) & (amount > 0)
    if not keep.any():
        return
    who, amount, target = who[keep], amount[keep], target[keep]
    by_step = np.argsort(target, kind="stable")
    who, amount, target = who[by_step], amount[by_step], target[by_step]
    steps, starts = np.unique(target, return_index=True)
    for s, chunk in zip(steps, np.split(np.arange(target.size), starts[1:]), strict=True):
        pending[int(s)].append(
            _Shocks(who[chunk], amount[chunk], np.full(chunk.size, step, dtype=np.int32))
        )


def _concat(kind: type[T], chunks: list[T]) -> T:
    """Stack per-step records field by field."""
    fields = kind.__dataclass_fields__  # type: ignore[attr-defined]
    if not chunks:
        raise ValueError(f"no {kind.__name__} chunks to concatenate")
    return kind(**{name: np.concatenate([getattr(c, name) for c in chunks]) for name in fields})


def _in_time_order(contacts: ContactArrays) -> ContactArrays:
    """Campaign and outreach rows of the same step, by the moment they were made."""
    order = np.argsort(contacts.day, kind="stable")
    return ContactArrays(
        **{name: getattr(contacts, name)[order] for name in ContactArrays.__dataclass_fields__}
    )


def _sort_feedback(feedback: FeedbackArrays, period: float) -> FeedbackArrays:
    """Keep feedback given before the end of the shop, in time order."""
    keep = np.flatnonzero(feedback.created_day < period)
    keep = keep[np.argsort(feedback.created_day[keep], kind="stable")]
    kept = FeedbackArrays(
        **{name: getattr(feedback, name)[keep] for name in FeedbackArrays.__dataclass_fields__}
    )
    kept.created_day = at_shopping_hours(kept.created_day)
    return kept


__all__ = [
    "NO_DELIVERY",
    "CustomerArrays",
    "FeedbackArrays",
    "OrderArrays",
    "Outcome",
    "Simulation",
    "TruthArrays",
    "draw_customers",
    "simulate",
    "step_edges",
    "true_churn_probability",
]
