"""Outreach in the simulated shop: hidden responses to a contact, randomized campaigns, and each
customer's true effect of a contact (the ground truth a queue's saves are judged on).

The effect model is `shopsim.config.ContactEffects`; everything here is a pure function of arrays
except `apply_contacts` (and `run_campaign` and `run_outreach`, which call it), which changes the
live state of the customers it contacts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import numpy as np

from shopsim.config import CAMPAIGN_PLAYBOOKS, ShopConfig

HOUR_OF_CONTACT = 10 / 24  # campaigns go out at 10:00


class Response(IntEnum):
    """How a customer answers a contact (hidden from the shop)."""

    RESPONSIVE = 0
    UNMOVED = 1
    SLEEPING_DOG = 2


@dataclass
class ContactArrays:
    """One row per campaign member or outreach contact, treated or control, in time order."""

    customer: np.ndarray  # int32
    day: np.ndarray  # float days since the start
    treated: np.ndarray  # bool
    playbook: np.ndarray  # int8 index into CAMPAIGN_PLAYBOOKS (control: the one they would get)
    returned: np.ndarray  # bool: a treated customer who had left came back
    outreach: np.ndarray  # int32 index into ShopConfig.outreach, -1 for a campaign row


def draw_responses(config: ShopConfig, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's hidden response and strength, from their own generator so adding campaigns
    never shifts the shop's other draws."""
    rng = np.random.default_rng([config.seed, 2])
    effects = config.effects
    u = rng.random(n)
    response = np.full(n, Response.RESPONSIVE, dtype=np.int8)
    response[u < effects.sleeping_dog_share + effects.unmoved_share] = Response.UNMOVED
    response[u < effects.sleeping_dog_share] = Response.SLEEPING_DOG
    strength = np.where(response == Response.RESPONSIVE, 0.7 + 0.3 * rng.random(n), 0.0)
    return response, strength


def horizon_churn(
    order_rate: np.ndarray,
    base_hazard: np.ndarray,
    excess: np.ndarray,
    season: float,
    config: ShopConfig,
) -> np.ndarray:
    """P(no order in the truth horizon) of live customers whose excess hazard fades from `excess`,
    in weekly steps with the season held at its start (the simulator's law, without the shocks of
    orders still under way)."""
    dyn = config.dynamics
    decay = math.log(2) / dyn.shock_half_life_days
    survive = np.ones(order_rate.size)
    churn = np.zeros(order_rate.size)
    left = float(config.truth_horizon_days)
    elapsed = 0.0
    while left > 0:
        days = min(7.0, left)
        now = excess * math.exp(-decay * (elapsed + days / 2))
        total = order_rate * season * np.exp(-dyn.disengagement * now) + base_hazard + now
        stay = np.exp(-total * days)
        churn = churn + survive * ((base_hazard + now) / total) * (1.0 - stay)
        survive = survive * stay
        left -= days
        elapsed += days
    return churn + survive


def true_effects(
    config: ShopConfig,
    population: np.ndarray,
    day: float,
    season: float,
    state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    traits: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Per customer of `population` and per playbook (CAMPAIGN_PLAYBOOKS): how much a contact on
    `day` lowers their probability of no order in the horizon (negative: it drives them away)."""
    alive, excess, _, last_order = (a[population] for a in state)
    order_rate, base_hazard, response, strength = (a[population] for a in traits)
    effects = config.effects
    stay_as_is = horizon_churn(order_rate, base_hazard, excess, season, config)
    fresh = horizon_churn(order_rate, base_hazard, np.zeros_like(excess), season, config)
    dog = horizon_churn(order_rate, base_hazard, excess + effects.dog_shock, season, config)
    comes_back = np.exp(-lapsed_days(day, last_order, order_rate) / effects.win_back_fade_days)
    out = np.zeros((population.size, len(CAMPAIGN_PLAYBOOKS)))
    for k in range(len(CAMPAIGN_PLAYBOOKS)):
        relieved = horizon_churn(
            order_rate, base_hazard, excess * (1 - strength * effects.relief[k]), season, config
        )
        alive_effect = np.where(
            response == Response.SLEEPING_DOG, stay_as_is - dog, stay_as_is - relieved
        )
        gone_effect = strength * effects.win_back[k] * comes_back * (1.0 - fresh)
        out[:, k] = np.where(alive, alive_effect, gone_effect)
    out[response == Response.UNMOVED] = 0.0
    return out


def lapsed_days(day: float, last_order: np.ndarray, order_rate: np.ndarray) -> np.ndarray:
    """Days past the customer's usual next order (their last order plus their usual gap): how long
    a customer who left has been missing, as the shop could see it."""
    return np.clip(day - last_order - 1.0 / order_rate, 0.0, None)


def apply_contacts(
    config: ShopConfig,
    day: float,
    members: np.ndarray,
    treated: np.ndarray,
    playbook: np.ndarray,
    last_order: np.ndarray,
    order_rate: np.ndarray,
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    response: np.ndarray,
    strength: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The law of a contact on `day`, for campaigns and outreach alike: change the treated members'
    state in place (alive, excess, dropout_day); returns which treated members who had left came
    back."""
    alive, excess, dropout_day = state
    effects = config.effects
    returned = np.zeros(members.size, dtype=bool)
    relief = np.array(effects.relief)[playbook]
    win_back = np.array(effects.win_back)[playbook]
    dogs = treated & (response[members] == Response.SLEEPING_DOG)
    excess[members[dogs]] += effects.dog_shock
    moved = treated & (response[members] == Response.RESPONSIVE)
    live = moved & alive[members]
    excess[members[live]] *= 1.0 - strength[members[live]] * relief[live]
    gone = moved & ~alive[members]
    lapsed = lapsed_days(day, last_order[members[gone]], order_rate[members[gone]])
    chance = strength[members[gone]] * win_back[gone] * np.exp(-lapsed / effects.win_back_fade_days)
    back = np.flatnonzero(gone)[rng.random(int(gone.sum())) < chance]
    alive[members[back]] = True
    dropout_day[members[back]] = np.inf
    excess[members[back]] = 0.0
    returned[back] = True
    return returned


def run_campaign(
    config: ShopConfig,
    day: float,
    last_order: np.ndarray,
    customer_traits: tuple[np.ndarray, np.ndarray],
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    response: np.ndarray,
    strength: np.ndarray,
    rng: np.random.Generator,
) -> ContactArrays:
    """Draw a campaign among the customers who ordered in the last year, contact the treated half
    with a random playbook and change their state in place (alive, excess, dropout_day)."""
    signup_day, order_rate = customer_traits
    active = np.flatnonzero((last_order >= day - 365) & (signup_day < day))
    members = active[rng.random(active.size) < config.campaign_share].astype(np.int32)
    treated = rng.random(members.size) < config.campaign_treated_share
    playbook = rng.integers(0, len(CAMPAIGN_PLAYBOOKS), members.size).astype(np.int8)
    returned = apply_contacts(
        config,
        day,
        members,
        treated,
        playbook,
        last_order,
        order_rate,
        state,
        response,
        strength,
        rng,
    )
    return ContactArrays(
        customer=members,
        day=np.full(members.size, day + HOUR_OF_CONTACT),
        treated=treated,
        playbook=playbook,
        returned=returned,
        outreach=np.full(members.size, -1, dtype=np.int32),
    )


def outreach_by_day(config: ShopConfig) -> dict[int, np.ndarray]:
    """The shop's own contacts (indices into config.outreach) by the day since the start they fall
    on, each day's in time order."""
    start = datetime.combine(config.start, datetime.min.time())
    days: dict[int, list[int]] = {}
    order = sorted(range(len(config.outreach)), key=lambda i: config.outreach[i].contacted_at)
    for i in order:
        days.setdefault((config.outreach[i].contacted_at - start).days, []).append(i)
    return {day: np.array(rows, dtype=np.int32) for day, rows in days.items()}


def run_outreach(
    config: ShopConfig,
    day: int,
    rows: np.ndarray,
    last_order: np.ndarray,
    order_rate: np.ndarray,
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    response: np.ndarray,
    strength: np.ndarray,
    rng: np.random.Generator,
) -> ContactArrays:
    """Make the shop's own contacts of one day (`rows` of config.outreach) with a campaign's law."""
    start = datetime.combine(config.start, datetime.min.time())
    chosen = [config.outreach[i] for i in rows]
    members = np.array([c.customer for c in chosen], dtype=np.int32)
    treated = np.array([c.treated for c in chosen], dtype=bool)
    playbook = np.array([CAMPAIGN_PLAYBOOKS.index(c.playbook) for c in chosen], dtype=np.int8)
    returned = apply_contacts(
        config,
        float(day),
        members,
        treated,
        playbook,
        last_order,
        order_rate,
        state,
        response,
        strength,
        rng,
    )
    return ContactArrays(
        customer=members,
        day=np.array([(c.contacted_at - start).total_seconds() / 86_400 for c in chosen]),
        treated=treated,
        playbook=playbook,
        returned=returned,
        outreach=rows.astype(np.int32),
    )


def no_contacts() -> ContactArrays:
    return ContactArrays(
        customer=np.zeros(0, dtype=np.int32),
        day=np.zeros(0),
        treated=np.zeros(0, dtype=bool),
        playbook=np.zeros(0, dtype=np.int8),
        returned=np.zeros(0, dtype=bool),
        outreach=np.zeros(0, dtype=np.int32),
    )
