"""Typed records of the outreach queues: item states and their legal transitions, items, run reports."""

from __future__ import annotations

import math
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OutreachError(ValueError):
    """A request the queue store refuses: says which item or date, and what was expected."""


class ItemNotFound(OutreachError):
    """No queue item has the id asked for."""


class NotClaimant(OutreachError):
    """Someone other than the agent who claimed an item tried to move it on."""


class UnknownTeam(OutreachError):
    """A team no playbook names: says which teams exist."""

    def __init__(self, team: str, known: list[str]) -> None:
        self.team, self.known = team, known
        super().__init__(f"unknown team {team!r}; the teams are: {', '.join(known)}")


def require_team(team: str, known: list[str]) -> str:
    """The team if a playbook names it; UnknownTeam (listing the teams) otherwise."""
    if team not in known:
        raise UnknownTeam(team, sorted(known))
    return team


class NoQueueBuilt(OutreachError):
    """The date asked for has no built queue (or no date has one yet): says the latest that has."""

    def __init__(self, asked: object | None, latest: object | None) -> None:
        self.asked, self.latest = asked, latest
        if latest is None:
            message = "no queue built yet; run `churnguard daily` first"
        elif asked is None:
            message = f"no queue built; latest is {latest}"
        else:
            message = f"no queue built for {asked}; latest is {latest}"
        super().__init__(message)


class ItemState(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    RESOLVED = "resolved"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    EXPIRED = "expired"


# queued -> claimed -> contacted -> resolved | no_answer | declined | expired. An agent may hand a
# claimed item back (claimed -> queued); unclaimed items expire (queued -> expired).
TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    ItemState.QUEUED: frozenset({ItemState.CLAIMED, ItemState.EXPIRED}),
    ItemState.CLAIMED: frozenset({ItemState.CONTACTED, ItemState.QUEUED}),
    ItemState.CONTACTED: frozenset(
        {ItemState.RESOLVED, ItemState.NO_ANSWER, ItemState.DECLINED, ItemState.EXPIRED}
    ),
    ItemState.RESOLVED: frozenset(),
    ItemState.NO_ANSWER: frozenset(),
    ItemState.DECLINED: frozenset(),
    ItemState.EXPIRED: frozenset(),
}
OPEN_STATES = (ItemState.QUEUED, ItemState.CLAIMED)
UNFINISHED_STATES = (*OPEN_STATES, ItemState.CONTACTED)  # no outcome yet: can be overdue


class IllegalTransition(OutreachError):
    """An item asked to move to a state its current state does not lead to."""


def check_transition(item_id: int, current: ItemState, target: ItemState) -> None:
    """Refuse a move the state machine does not allow, saying which moves it does."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing (it is final)"
        raise IllegalTransition(
            f"item {item_id} is {current.value}; it cannot become {target.value}. From {current.value} it can become: {options}"
        )


def risk_percent(probability: float) -> str:
    """A churn probability as an agent reads it: one decimal, rounded down, so 0.998 reads 99.8%
    and only a certainty reads 100%."""
    return f"{math.floor(probability * 1000) / 10:.1f}%"


class QueueItem(BaseModel):
    """One customer to contact on one day."""

    model_config = ConfigDict(frozen=True)

    id: int
    queue_date: date
    customer_id: str
    team: str
    playbook: str
    action: str
    channel: str
    reason_code: str | None
    reason_sentence: str
    churn_probability: float
    expected_value: float
    value_at_risk: float
    expected_saving: float | None = None
    priority_rank: int
    state: ItemState
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    contacted_by: str | None = None
    contacted_at: datetime | None = None
    outcome_by: str | None = None
    outcome_at: datetime | None = None
    notes: str | None = None
    playbook_version: str
    model_version: str | None = None
    language: str | None = Field(None, description="Language of the draft and the reason (BCP 47).")
    message_subject: str | None = Field(None, description="Draft email subject (email only).")
    message_body: str | None = Field(
        None, description="Draft message or phone script; as sent once the agent records contacted."
    )
    channels: list[str] | None = Field(
        None, description="The playbook's channels this customer consented to, in order."
    )
    draft_context: dict[str, Any] | None = Field(
        None, description="The customer's reasons and facts the draft was made from."
    )
    due_at: datetime | None = Field(
        None, description="When the team's service level says it is due."
    )
    step: str = Field("contact", description="contact, retry (after no answer) or follow_up.")
    attempt: int = Field(1, description="1 for the first contact, 2 for the first retry, ...")
    follows_item_id: int | None = Field(None, description="The item whose outcome scheduled this.")

    def is_overdue(self, now: datetime) -> bool:
        """Past its due time with no outcome recorded yet (queued, claimed or contacted)."""
        return self.state in UNFINISHED_STATES and self.due_at is not None and self.due_at < now


class ItemMove(BaseModel):
    """One recorded move of a queue item: who acted, and whose claim the item was under."""

    model_config = ConfigDict(frozen=True)

    item_id: int
    moved_at: datetime
    from_state: ItemState
    to_state: ItemState
    agent: str = Field(description="Who acted, as bound to their key ('ann via agents-team-a').")
    claimant: str | None = Field(None, description="Who held the claim when it moved.")
    supervised: bool = Field(
        False, description="The agent moved someone else's claim (a key with role supervisor)."
    )


class QueueRunReport(BaseModel):
    """What one day's build did: how many were queued, held out, and left out by which rule."""

    queue_date: date
    period: str
    scored: int = Field(description="Customers in the scored frame.")
    queued: int
    control_group: int
    below_min_probability: int
    no_consented_channel: int
    cooldown: int
    over_capacity: int
    no_actionable_reason: int = Field(
        0, description="Eligible customers the model gave no reason for (baseline risk)."
    )
    silent_since_contact: int = Field(
        0, description="Customers contacted before who have not ordered since (it did not work)."
    )
    no_playbook_saves: int = Field(
        0, description="Customers no playbook is expected to save (lost, sure or driven away)."
    )
    saving_source: str | None = Field(
        None,
        description="Where expected savings came from: the uplift model or the prior, and why.",
    )
    expired: int = Field(0, description="Older unclaimed items expired before this build.")
    queued_by_team: dict[str, int] = Field(default_factory=dict)
    playbook_version: str
    model_version: str | None = None
    started_at: datetime
    finished_at: datetime
    already_built: bool = Field(
        False,
        description="True when the date had been built before: nothing was written this time.",
    )
