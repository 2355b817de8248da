"""Playbooks: for each reason a customer is at risk, the action to take, who takes it and through which
channels. Loaded from a versioned YAML file and validated, so a typo fails at load, not at 9 a.m."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from common.names import ReasonCode
from features.contract import CONTACT_CHANNELS

DEFAULT_PLAYBOOKS_PATH = Path(__file__).with_name("playbooks.yaml")
DEFAULT_PLAYBOOK = "default"


class PlaybookError(ValueError):
    """A playbooks file that cannot be used: says which file, which key and what was expected."""


def _known_channel(channel: str) -> str:
    if channel not in CONTACT_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {list(CONTACT_CHANNELS)}")
    return channel


def _known_reason(code: str) -> str:
    if code not in ReasonCode.ALL:
        raise ValueError(f"unknown reason code {code!r}; expected one of {list(ReasonCode.ALL)}")
    return code


def _no_repeats(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"{values} lists a value twice")
    return values


ChannelName = Annotated[str, AfterValidator(_known_channel)]
ReasonCodeName = Annotated[str, AfterValidator(_known_reason)]


class Team(BaseModel):
    """A team working outreach queues."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_capacity: int = Field(ge=0, description="Customers the team can contact per day.")
    service_level_hours: int = Field(
        24,
        ge=1,
        description="An item is due this many hours after its day starts; later is overdue.",
    )


class FollowUpPolicy(BaseModel):
    """What an outcome schedules next: a retry after no answer, a check after a resolution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    no_answer_retry_after_days: int = Field(
        2,
        ge=1,
        description="A `no_answer` is retried on the next consented channel this much later.",
    )
    max_attempts: int = Field(
        3, ge=1, description="Contacts of one customer in a row that got no answer, at most."
    )
    resolved_check_after_days: int = Field(
        7,
        ge=1,
        description="A `resolved` item gets a follow-up check (did the fix work?) this much later.",
    )


class PriorEffect(BaseModel):
    """What a playbook is assumed to save before the shop's own contacts say otherwise: the share of
    a customer's churn risk one contact removes (see `SavingPrior`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    due: float = Field(
        0.0, ge=-1, le=1, description="For a customer due to order now; fades past that."
    )
    after_lapse: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="Only for a customer already past their usual next order (a win-back offer "
        "reaches those who lapsed, not those still buying); fades like `due`.",
    )
    after_delivery_problem: float = Field(
        0.0, ge=-1, le=1, description="Added after a fresh late, failed or overdue delivery."
    )
    after_complaint: float = Field(
        0.0, ge=-1, le=1, description="Added after a fresh low rating, angry text or ticket."
    )


class SavingPrior(BaseModel):
    """How the prior's effects fade; used while the uplift model has not passed its gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fade_days: float = Field(
        30.0,
        gt=0,
        description="The `due` and `after_lapse` effects fall by e every this many days past the "
        "customer's usual next order (a customer gone for months is a lost cause).",
    )
    fresh_days: float = Field(
        30.0,
        gt=0,
        description="A bad experience this many days old counts e times less.",
    )


class Action(BaseModel):
    """What to do, who does it and through which channels, in order of preference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str = Field(min_length=1, description="What the team does, in the shop's words.")
    team: str = Field(min_length=1, description="Key of the team (under `teams:`) that does it.")
    channels: Annotated[list[ChannelName], AfterValidator(_no_repeats)] = Field(
        min_length=1, description="Allowed channels, most preferred first."
    )
    prior: PriorEffect = Field(
        default_factory=PriorEffect, description="What one contact is assumed to save."
    )


class ReasonPlaybook(Action):
    """An action chosen by the reason codes it names."""

    reasons: Annotated[list[ReasonCodeName], AfterValidator(_no_repeats)] = Field(
        min_length=1, description="Reason codes this playbook answers."
    )


class PrecedenceRule(Action):
    """An action for long-time, high-value customers, whatever their reason (checked first)."""

    min_tenure_days: int = Field(ge=0, description="Customer for at least this many days.")
    min_expected_value: float = Field(
        ge=0, description="Expected value over the horizon, at least."
    )
    min_churn_probability: float = Field(
        0.0, ge=0, le=1, description="Churn probability, at least."
    )


class Playbooks(BaseModel):
    """The whole playbooks file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, description="Recorded on every queue item built with it.")
    teams: dict[str, Team] = Field(min_length=1)
    playbooks: dict[str, ReasonPlaybook] = Field(default_factory=dict)
    precedence: dict[str, PrecedenceRule] = Field(default_factory=dict)
    default: Action
    messages: str = Field(
        "v1",
        pattern=r"^v[0-9]+$",
        description="Folder of message templates beside this file (outreach/messages/<messages>/).",
    )
    follow_up: FollowUpPolicy = Field(default_factory=FollowUpPolicy)
    saving_prior: SavingPrior = Field(default_factory=SavingPrior)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _references_resolve(self) -> Playbooks:
        known = sorted(self.teams)
        actions: list[tuple[str, Action]] = [
            *((f"playbooks.{name}", p) for name, p in self.playbooks.items()),
            *((f"precedence.{name}", p) for name, p in self.precedence.items()),
            (DEFAULT_PLAYBOOK, self.default),
        ]
        for key, action in actions:
            if action.team not in self.teams:
                raise ValueError(f"{key}.team: unknown team {action.team!r}; teams are {known}")
        names = [*self.playbooks, *self.precedence]
        if DEFAULT_PLAYBOOK in names or len(set(names)) != len(names):
            raise ValueError(
                f"playbook names must be unique across playbooks and precedence and not {DEFAULT_PLAYBOOK!r}: {names}"
            )
        owner: dict[str, str] = {}
        for name, playbook in self.playbooks.items():
            for code in playbook.reasons:
                if code in owner:
                    raise ValueError(
                        f"playbooks.{name}.reasons: {code} is already answered by playbooks.{owner[code]}"
                    )
                owner[code] = name
        return self

    def playbook_for_reason(self) -> dict[str, str]:
        """Reason code -> name of the playbook that answers it."""
        return {code: name for name, p in self.playbooks.items() for code in p.reasons}

    def action(self, name: str) -> Action:
        """The action of a playbook, precedence rule or the default, by name."""
        if name == DEFAULT_PLAYBOOK:
            return self.default
        if name in self.precedence:
            return self.precedence[name]
        return self.playbooks[name]

    def action_names(self) -> list[str]:
        return [*self.precedence, *self.playbooks, DEFAULT_PLAYBOOK]

    def capacities(self, overrides: dict[str, int] | None = None) -> dict[str, int]:
        """Daily capacity per team, with per-run overrides for the teams they name."""
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(self.teams))
        if unknown:
            raise PlaybookError(
                f"capacity given for unknown teams {unknown}; teams are {sorted(self.teams)}"
            )
        return {team: overrides.get(team, t.daily_capacity) for team, t in self.teams.items()}


def _where(loc: Sequence[int | str]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def parse_playbooks(document: Any, source: str = "<playbooks>") -> Playbooks:
    """Validate a parsed playbooks document; errors name the source and the key."""
    if not isinstance(document, dict):
        raise PlaybookError(f"{source}: expected a mapping with version, teams, playbooks, default")
    try:
        return Playbooks.model_validate(document)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = _where(item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {key}: {message}" if key else f"{source}: {message}")
        raise PlaybookError("\n".join(problems)) from None


def load_playbooks(path: Path | str | None = None) -> Playbooks:
    """Read and validate a playbooks YAML file (default: the one shipped with the package)."""
    path = Path(path) if path is not None else DEFAULT_PLAYBOOKS_PATH
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PlaybookError(f"{path}: no such playbooks file") from None
    except yaml.YAMLError as error:
        raise PlaybookError(f"{path}: not valid YAML: {error}") from None
    return parse_playbooks(document, str(path))
