"""What the simulated shop looks like: the config a caller chooses and the records the simulator returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class Region:
    """A delivery region and the quality of the carrier serving it."""

    name: str
    share: float  # of customers
    promise_days: int  # usual days between order and promised delivery
    late_probability: float
    failed_probability: float


@dataclass(frozen=True)
class Incident:
    """A period when one region's carrier goes badly (a strike, a depot fire, a peak it cannot carry)."""

    region: str
    start: date
    end: date  # exclusive
    late_probability: float = 0.55
    failed_probability: float = 0.10


@dataclass(frozen=True)
class Dynamics:
    """How customers behave; rates and hazards are per day. The defaults give ~10 orders per customer
    over three years and make dropout, not a slow buying rate, the main reason for 90 quiet days."""

    mean_order_rate: float = 1 / 26  # orders per day of an average customer in a good mood
    order_rate_shape: float = 2.0  # gamma shape: lower means more heterogeneous customers
    mean_order_value: float = 55.0
    customer_value_sigma: float = 0.5  # lognormal spread of customers' usual basket
    order_value_sigma: float = 0.35  # lognormal spread of one customer's orders
    seasonality: float = 0.25  # amplitude of the yearly cycle (peak in mid-December)
    signup_growth: float = (
        2.0  # signups at the end of the period are (1 + growth)x those at the start
    )
    first_order_probability: float = 0.85  # most sign up while placing their first order
    base_dropout_hazard: float = 1 / 900  # per day: people move, find another shop, lose interest
    shock_half_life_days: float = 45.0  # how fast a bad experience fades
    shock_late: float = 0.003
    shock_late_per_day: float = 0.0006  # on top of shock_late, per day overdue (capped at 10 days)
    shock_failed: float = 0.012
    shock_returned: float = 0.002
    shock_low_rating: float = 0.006  # rating 1-2
    shock_mid_rating: float = 0.0015  # rating 3
    shock_ticket: float = 0.004  # a complaint to support
    disengagement: float = (
        40.0  # order rate x exp(-disengagement * extra hazard): upset customers buy less
    )
    cancel_probability: float = 0.025
    return_probability: float = 0.04
    return_probability_if_late: float = 0.08
    silent_share: float = 0.35  # customers who never give feedback of any kind


# The playbooks of outreach/playbooks.yaml whose effect the simulator models (a campaign uses one).
CAMPAIGN_PLAYBOOKS = (
    "apology_status_update",
    "service_recovery_call",
    "win_back_offer",
    "default",
)


@dataclass(frozen=True)
class ContactEffects:
    """What a contact does to a customer: an assumption of the simulator, varied in the benchmarks.

    Each customer has a hidden response: a sleeping dog (any contact adds `dog_shock` to their dropout
    hazard), unmoved (nothing changes), or responsive with a strength s in [0.7, 1]. A contact with
    playbook p removes s x relief[p] of a responsive customer's excess hazard (the part a bad
    experience added, so the effect is larger after one), and brings one who has already left back
    with probability s x win_back[p] x exp(-days past their usual next order / win_back_fade_days).
    """

    name: str = "recovery"
    sleeping_dog_share: float = 0.05
    unmoved_share: float = 0.15
    dog_shock: float = 0.01
    relief: tuple[float, ...] = (0.75, 0.6, 0.15, 0.1)  # per CAMPAIGN_PLAYBOOKS
    win_back: tuple[float, ...] = (0.04, 0.06, 0.25, 0.06)
    win_back_fade_days: float = 30.0

    def __post_init__(self) -> None:
        for name in ("relief", "win_back"):
            values = getattr(self, name)
            if len(values) != len(CAMPAIGN_PLAYBOOKS) or not all(0 <= v <= 1 for v in values):
                raise ValueError(
                    f"ContactEffects.{name}: one value in [0, 1] per playbook {CAMPAIGN_PLAYBOOKS}"
                )
        if self.sleeping_dog_share + self.unmoved_share > 1:
            raise ValueError("ContactEffects: sleeping_dog_share + unmoved_share must be <= 1")


EFFECT_MODELS: dict[str, ContactEffects] = {
    # A contact mends a bad experience; a lapsed customer rarely comes back.
    "recovery": ContactEffects(),
    # Win-back offers work and fade slowly; apologies help less; more customers resent contact.
    "win-back": ContactEffects(
        name="win-back",
        sleeping_dog_share=0.10,
        unmoved_share=0.25,
        relief=(0.35, 0.3, 0.2, 0.1),
        win_back=(0.1, 0.1, 0.45, 0.15),
        win_back_fade_days=60.0,
    ),
    # Every playbook works the same: only who is contacted matters, not how.
    "uniform": ContactEffects(
        name="uniform",
        sleeping_dog_share=0.05,
        unmoved_share=0.4,
        relief=(0.4, 0.4, 0.4, 0.4),
        win_back=(0.15, 0.15, 0.15, 0.15),
        win_back_fade_days=45.0,
    ),
}


@dataclass(frozen=True)
class OutreachContact:
    """A contact the shop made itself, outside the simulated campaigns (an agent working a queue):
    a treated one changes the customer as a campaign's treated contact does; a control one is
    recorded and not made, so the control group can be measured."""

    customer_id: str  # as written: C0000001 is the first customer
    contacted_at: datetime  # naive UTC
    playbook: str  # one of CAMPAIGN_PLAYBOOKS: the law the contact follows
    treated: bool = True
    contact_id: str | None = None  # the shop's own id (e.g. the queue store's); None: a K number

    def __post_init__(self) -> None:
        if self.playbook not in CAMPAIGN_PLAYBOOKS:
            raise ValueError(
                f"OutreachContact {self.customer_id} at {self.contacted_at}: playbook "
                f"{self.playbook!r} is not one the simulator models {CAMPAIGN_PLAYBOOKS}"
            )
        if not (self.customer_id[:1] == "C" and self.customer_id[1:].isdigit()):
            raise ValueError(
                f"OutreachContact: customer_id {self.customer_id!r} is not a simulated id like C0000001"
            )

    @property
    def customer(self) -> int:
        """Index of the customer in the simulation's arrays."""
        return int(self.customer_id[1:]) - 1


DEFAULT_REGIONS: tuple[Region, ...] = (
    Region("capital", 0.30, 2, 0.04, 0.005),
    Region("north", 0.20, 3, 0.08, 0.010),
    Region("south", 0.20, 3, 0.10, 0.012),
    Region("east", 0.15, 3, 0.07, 0.010),
    Region("west", 0.10, 3, 0.09, 0.015),
    Region("islands", 0.05, 5, 0.16, 0.030),
)


@dataclass(frozen=True)
class ShopConfig:
    """Everything that decides a synthetic shop; the same config always gives the same bytes."""

    customers: int = 2_000
    seed: int = 0
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)  # inclusive: the last day with activity
    regions: tuple[Region, ...] = DEFAULT_REGIONS
    dynamics: Dynamics = field(default_factory=Dynamics)
    incidents: tuple[Incident, ...] | None = None  # None: one four-week incident in "south"
    truth_as_of: tuple[date, ...] | None = None  # None: each quarter start whose horizon fits
    truth_horizon_days: int = 90
    truth_lookback_days: int = 365
    step_days: int = 7
    language: str = "en"  # the language of its customers and their reviews and tickets: en or ja
    effects: ContactEffects = field(default_factory=ContactEffects)
    campaigns: int = (
        0  # monthly randomized campaigns, on the 1st of the months before campaigns_before
    )
    campaigns_before: date | None = None  # None: the last truth as-of day (or the end)
    campaign_share: float = 0.3  # of the customers who ordered in the last year, per campaign
    campaign_treated_share: float = 0.5  # of those, contacted; the rest are held out as control
    outreach: tuple[OutreachContact, ...] = ()  # contacts the shop made itself, besides campaigns

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"ShopConfig.customers must be >= 1, got {self.customers}")
        if self.end <= self.start:
            raise ValueError(f"ShopConfig.end ({self.end}) must be after start ({self.start})")
        if abs(sum(r.share for r in self.regions) - 1.0) > 1e-9:
            raise ValueError("ShopConfig.regions: shares must sum to 1")
        from shopsim.texts import LANGUAGES

        if self.language not in LANGUAGES:
            raise ValueError(
                f"ShopConfig.language must be one of {', '.join(LANGUAGES)}, got {self.language!r}"
            )
        if self.truth_horizon_days < 1 or self.step_days < 1:
            raise ValueError("ShopConfig: truth_horizon_days and step_days must be >= 1")
        self._check_outreach()

    def _check_outreach(self) -> None:
        first = datetime.combine(self.start, datetime.min.time())
        last = datetime.combine(self._end_exclusive, datetime.min.time())
        for contact in self.outreach:
            if not (
                0 <= contact.customer < self.customers and first <= contact.contacted_at < last
            ):
                raise ValueError(
                    f"ShopConfig.outreach: {contact.customer_id} at {contact.contacted_at} must be "
                    f"one of the {self.customers} customers, between {self.start} and {self.end}"
                )
        own = [c.contact_id for c in self.outreach if c.contact_id is not None]
        if len(own) != len(set(own)):
            raise ValueError("ShopConfig.outreach: contact_id must be unique")

    def campaign_days(self) -> tuple[int, ...]:
        """Days since the start of each campaign: the 1st of the `campaigns` months before
        `campaigns_before`, never before the shop's second month."""
        before = self.campaigns_before
        if before is None:
            truth = self.resolved_truth_as_of()
            before = truth[-1] if truth else self.end
        days = []
        year, month = before.year, before.month
        while len(days) < self.campaigns:
            month -= 1
            if month == 0:
                year, month = year - 1, 12
            day = date(year, month, 1)
            if (day - self.start).days < 31:
                break
            days.append((day - self.start).days)
        return tuple(sorted(days))

    @property
    def period_days(self) -> int:
        """Days simulated, counting the end date."""
        return (self.end - self.start).days + 1

    def resolved_incidents(self) -> tuple[Incident, ...]:
        """The incidents to simulate; by default one in "south", four weeks starting 60% into the period."""
        if self.incidents is not None:
            return self.incidents
        begins = self.start + timedelta(days=int(self.period_days * 0.6))
        return (Incident("south", begins, begins + timedelta(days=28)),)

    def resolved_truth_as_of(self) -> tuple[date, ...]:
        """Dates the ground truth is written for; by default each quarter start after `start`
        whose horizon ends by `end`."""
        if self.truth_as_of is not None:
            for as_of in self.truth_as_of:
                if not (self.start < as_of and as_of + self._horizon <= self._end_exclusive):
                    raise ValueError(
                        f"ShopConfig.truth_as_of: {as_of} with a {self.truth_horizon_days}-day "
                        f"horizon must lie after {self.start} and end by {self.end}"
                    )
            return tuple(sorted(set(self.truth_as_of)))
        dates = []
        year, month = self.start.year, 1
        while True:
            as_of = date(year, month, 1)
            if as_of + self._horizon > self._end_exclusive:
                break
            if as_of > self.start:
                dates.append(as_of)
            month += 3
            if month > 12:
                year, month = year + 1, 1
        return tuple(dates)

    @property
    def _horizon(self) -> timedelta:
        return timedelta(days=self.truth_horizon_days)

    @property
    def _end_exclusive(self) -> date:
        return self.end + timedelta(days=1)


@dataclass(frozen=True)
class ShopSummary:
    """What was written and how the shop behaved, for the CLI and for sanity checks."""

    out_dir: Path
    customers: int
    orders: int
    deliveries: int
    feedback: int
    ratings: int  # feedback rows with stars (reviews and surveys)
    texts_without_rating: int  # tickets, chats, social posts
    truth_rows: int
    contacts: int  # campaign and outreach rows, treated and control
    cancelled_rate: float  # of orders
    late_rate: float  # of deliveries that arrived
    failed_rate: float  # of deliveries
    returned_rate: float  # of deliveries
    in_transit: int  # deliveries still under way at the end
    dropped_out: int  # customers who stopped ordering for good before the end
    silent_dropouts: int  # of those, customers who never gave any feedback
    churn_rate: (
        float  # share of active customers with no order in the horizon, over the truth dates
    )
    mean_true_churn_probability: float
    files: dict[str, Path] = field(default_factory=dict)
