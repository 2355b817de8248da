"""Who is contacted today, by which team, how, in which order, and who is held out as control.

Pure functions over DataFrames: no database, no clock. `select_outreach` applies the rules in this
order, and each customer left out is counted under the first rule that excluded them:

1. below_min_probability: churn probability under `min_churn_probability`;
2. no_consented_channel: none of the playbook's channels has consent (see `allowed_channels`);
3. cooldown: contacted in the last `cooldown_days`, held out as control in that window, or still
   holding an open (queued or claimed) item from an earlier day (the store and the imported
   contacts history say who);
4. silent_since_contact: contacted (treated) at least `silent_after_days` ago, and at least their
   usual gap between orders, and no order since: the contact did not bring them back, or drove
   them away (the history says who);
5. no_playbook_saves: with expected savings given, no playbook's expected saving exceeds
   `min_expected_saving` (a lost cause, a sure thing, or a customer a contact would drive away);
6. no_actionable_reason: the model names nothing that raised this customer's risk (their risk is the
   shop's baseline), so an agent would have nothing true to say;
7. over_capacity: ranked below the team's daily capacity (by expected saving when given, else by
   value at risk); with expected savings, a customer whose playbook's team is full (a precedence
   rule's team included) first gets their next best playbook whose team has room, if it saves more
   than `min_expected_saving`;
8. control_group: a stable random `control_fraction` of the customers within capacity, recorded and
   never queued. The split comes after the capacity cut so that the control group and the queued
   customers are drawn from the same population (the report compares like with like); a team thus
   receives about (1 - control_fraction) of its capacity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features import value
from features.contract import CONTACT_CHANNELS
from outreach.followups import due_at
from outreach.playbooks import DEFAULT_PLAYBOOK, Playbooks

EXCLUSION_RULES = (
    "below_min_probability",
    "no_consented_channel",
    "cooldown",
    "silent_since_contact",
    "no_playbook_saves",
    "no_actionable_reason",
    "over_capacity",
    "control_group",
)
SCORED_COLUMNS = (
    "customer_id",
    "churn_probability",
    "reasons",
    "orders_365d",
    "avg_order_value",
    "tenure_days",
)
ITEM_COLUMNS = (
    "customer_id",
    "team",
    "playbook",
    "action",
    "channel",
    "reason_code",
    "reason_sentence",
    "churn_probability",
    "expected_value",
    "value_at_risk",
    "expected_saving",
    "priority_rank",
    "language",
    "message_subject",
    "message_body",
    "channels",
    "draft_context",
    "due_at",
)
# Optional columns of the scored frame that drafts state as facts ("your order of 12 May").
DRAFT_FACT_COLUMNS = ("days_since_last_order", "days_late_last_order")
CONTROL_COLUMNS = (
    "customer_id",
    "team",
    "playbook",
    "churn_probability",
    "value_at_risk",
    "expected_saving",
)


class OutreachConfig(BaseModel):
    """Knobs of the daily selection; the daily job passes one (defaults are the documented policy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_churn_probability: float = Field(
        0.3, ge=0, le=1, description="Customers below this churn probability are not contacted."
    )
    horizon_days: int = Field(
        90, ge=1, description="Horizon of the expected value (the churn horizon)."
    )
    cooldown_days: int = Field(
        30, ge=0, description="Days after an outreach (or a control hold-out) before the next one."
    )
    control_fraction: float = Field(
        0.10, ge=0, lt=1, description="Share of would-be-queued customers held out as control."
    )
    control_seed: str = Field(
        "churnguard", description="Seed of the control split; change it, change the split."
    )
    control_period: Literal["week", "month", "quarter"] = Field(
        "month", description="A customer stays in or out of control for the whole period."
    )
    team_capacity: dict[str, int] = Field(
        default_factory=dict, description="Daily capacity per team, overriding playbooks.yaml."
    )
    channels_without_consent_info: tuple[str, ...] = Field(
        ("email",),
        description="Channels allowed when consent is unknown (no customers row or an empty consent "
        "field). An explicit `false` always forbids.",
    )
    expire_after_days: int = Field(
        7, ge=1, description="Queued items never claimed expire this many days after their date."
    )
    min_rate_days: int = Field(
        30, ge=1, description="Tenure floor when turning orders_365d into an order rate."
    )
    default_language: str = Field(
        "en",
        description="Language of customers with none of their own and no texts (CHURNGUARD_LANGUAGE).",
    )
    silent_after_days: int = Field(
        30,
        ge=1,
        description="Days after a contact with no order since before it counts as failed (or the "
        "customer's usual gap between orders, if longer).",
    )
    min_expected_saving: float = Field(
        1.0,
        ge=0,
        description="A customer is queued only if some playbook is expected to save more than "
        "this (shop currency over the horizon); below it, the rule no_playbook_saves.",
    )


@dataclass(frozen=True)
class OutreachSelection:
    """The outcome of the rules for one day: what to queue, who is control, who was left out why."""

    items: pd.DataFrame  # ITEM_COLUMNS, in priority order within each team
    control: pd.DataFrame  # CONTROL_COLUMNS
    excluded: dict[str, int]  # rule -> customers it left out (EXCLUSION_RULES)
    scored: int
    period: str
    queued_by_team: dict[str, int] = field(default_factory=dict)


def expected_value(
    orders_365d: Any,
    avg_order_value: Any,
    tenure_days: Any,
    horizon_days: int,
    min_rate_days: int = 30,
) -> np.ndarray:
    """Spend expected over the horizon if the customer stays, from a scored frame's columns: the
    one definition of `features.value` (order rate x horizon x average order value)."""
    return value.expected_value(
        value.order_rate(orders_365d, tenure_days, min_rate_days), avg_order_value, horizon_days
    )


def period_of(day: date, kind: Literal["week", "month", "quarter"]) -> str:
    """The control period a day belongs to: 2025-03, 2025-W09 or 2025-Q1."""
    if kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def in_control_group(
    customer_ids: Iterable[str], period: str, seed: str, fraction: float
) -> np.ndarray:
    """True for the customers held out: a SHA-256 of (seed, period, customer) read as a uniform number
    in [0, 1), compared with `fraction`. Same inputs, same answer, on any machine and version."""
    prefix = f"{seed}\x1f{period}\x1f".encode()
    draws = np.fromiter(
        (
            int.from_bytes(hashlib.sha256(prefix + str(c).encode()).digest()[:8], "big")
            for c in customer_ids
        ),
        dtype="uint64",
    )
    return (draws / 2.0**64) < fraction


def _reason_fields(reason: Any, language: str = "en") -> tuple[str | None, str]:
    """A reason's code and its sentence in `language` (English where the reason lacks it)."""
    if not isinstance(reason, Mapping):
        reason = {
            "code": getattr(reason, "code", None),
            "sentence": getattr(reason, "sentence", ""),
            "sentences": getattr(reason, "sentences", {}),
        }
    sentences = reason.get("sentences") or {}
    return reason.get("code"), sentences.get(language) or reason.get("sentence") or ""


def choose_playbooks(
    reasons: Iterable[Any],
    tenure_days: np.ndarray,
    expected_values: np.ndarray,
    churn_probability: np.ndarray,
    playbooks: Playbooks,
    languages: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer: the playbook name and the reason (code, sentence in the customer's language,
    `languages`, default English) that chose it.

    Precedence rules are checked first (the first that matches wins; the reason recorded is the
    strongest). Otherwise the strongest reason that a playbook answers picks it; a customer whose
    reasons no playbook names gets the default, with their strongest reason recorded.
    """
    by_reason = playbooks.playbook_for_reason()
    names, codes, sentences, strongest = [], [], [], []
    for position, customer_reasons in enumerate(reasons):
        listed = list(customer_reasons) if customer_reasons is not None else []
        language = languages[position] if languages is not None else "en"
        fields = [_reason_fields(r, language) for r in listed]
        first = fields[0] if fields else (None, "")
        chosen = next(((by_reason[c], c, s) for c, s in fields if c in by_reason), None)
        name, code, sentence = chosen if chosen is not None else (DEFAULT_PLAYBOOK, *first)
        names.append(name)
        codes.append(code)
        sentences.append(sentence)
        strongest.append(first)
    names_array = np.array(names, dtype=object)
    codes_array = np.array(codes, dtype=object)
    sentences_array = np.array(sentences, dtype=object)
    decided = np.zeros(len(names_array), dtype=bool)
    for name, rule in playbooks.precedence.items():
        matches = (
            ~decided
            & (np.nan_to_num(tenure_days, nan=0.0) >= rule.min_tenure_days)
            & (expected_values >= rule.min_expected_value)
            & (churn_probability >= rule.min_churn_probability)
        )
        names_array[matches] = name
        decided |= matches
    for index in np.flatnonzero(decided):
        codes_array[index], sentences_array[index] = strongest[index]
    return names_array, codes_array, sentences_array


def reachable_savings(
    savings: pd.DataFrame, allowed: Mapping[str, np.ndarray], playbooks: Playbooks
) -> pd.DataFrame:
    """The savings with NaN where none of the playbook's channels has the customer's consent: a
    playbook that cannot reach a customer saves nothing, so the best one that can is chosen (a
    customer no playbook can reach is left out under no_consented_channel)."""
    reachable = savings.copy()
    for name in reachable.columns:
        channels = playbooks.action(name).channels
        reaches = np.logical_or.reduce([allowed[channel] for channel in channels])
        reachable.loc[~reaches, name] = np.nan
    return reachable


def assign_within_capacity(
    savings: pd.DataFrame,
    chosen: np.ndarray,
    team_of: Mapping[str, str],
    capacities: Mapping[str, int],
    min_saving: float,
) -> tuple[dict[int, str], np.ndarray]:
    """Fill each team's daily slots in priority order (rows in that order): a row whose chosen
    playbook's team (a precedence rule's included) is already full takes its next best playbook
    (saving above `min_saving`) whose team has a free slot. Returns the moved rows (position ->
    playbook) and, per row, whether it got a slot. A full service-recovery team does not drop a
    customer an apology would still save."""
    left = dict(capacities)
    values = savings.to_numpy(dtype="float64")
    columns = list(savings.columns)
    moved: dict[int, str] = {}
    within = np.zeros(len(chosen), dtype=bool)
    for row, name in enumerate(chosen):
        team = team_of[name]
        if left.get(team, 0) > 0:
            left[team] -= 1
            within[row] = True
            continue
        for column in np.argsort(-np.nan_to_num(values[row], nan=-np.inf), kind="stable"):
            saving = values[row, column]
            if not saving > min_saving:
                break
            if left.get(team_of[columns[column]], 0) > 0:
                left[team_of[columns[column]]] -= 1
                moved[row] = columns[column]
                within[row] = True
                break
    return moved, within


def choose_by_saving(
    reasons: list[Any],
    rule_names: np.ndarray,
    codes: np.ndarray,
    sentences: np.ndarray,
    savings: pd.DataFrame,
    playbooks: Playbooks,
    languages: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per customer: the playbook with the largest expected saving and that saving; the reason
    recorded is the strongest one the chosen playbook answers (else the strongest), in the
    customer's language (`languages`, default English). A customer a precedence rule picked keeps
    that rule's team and is expected to save what their best playbook saves."""
    from outreach.saving import best_playbook

    best_names, best = best_playbook(savings)
    answers = playbooks.playbook_for_reason()
    names = best_names.copy()
    codes, sentences = codes.copy(), sentences.copy()
    for i, customer_reasons in enumerate(reasons):
        if rule_names[i] in playbooks.precedence:
            names[i] = rule_names[i]
            continue
        language = languages[i] if languages is not None else "en"
        fields = [_reason_fields(r, language) for r in (customer_reasons or [])]
        own = next(((c, s) for c, s in fields if answers.get(c) == names[i]), None)
        codes[i], sentences[i] = own if own is not None else (fields[0] if fields else (None, ""))
    return names, codes, sentences, best


def allowed_channels(
    customers: pd.DataFrame | None, customer_ids: pd.Index, without_consent_info: Collection[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per channel, whether each customer may be contacted through it; and their preferred channel.

    `consent_<channel>` true allows, false forbids; unknown (no customers table, no row, no column or
    an empty value) allows only the channels in `without_consent_info` (by default email: the least
    intrusive, one click to unsubscribe; calls and texts need an explicit yes).
    """
    n = len(customer_ids)
    if customers is None or customers.empty:
        known = pd.DataFrame(index=customer_ids)
    else:
        if "customer_id" not in customers.columns:
            raise ValueError(
                f"customers table: no customer_id column; columns are {list(customers.columns)}"
            )
        if customers["customer_id"].duplicated().any():
            duplicate = customers.loc[customers["customer_id"].duplicated(), "customer_id"].iloc[0]
            raise ValueError(f"customers table: customer_id {duplicate!r} appears more than once")
        known = customers.set_index("customer_id").reindex(customer_ids)
    allowed = {}
    for channel in CONTACT_CHANNELS:
        column = f"consent_{channel}"
        consent = (
            known[column].astype("boolean")
            if column in known
            else pd.Series(pd.NA, index=known.index, dtype="boolean")
        )
        allowed[channel] = consent.fillna(channel in without_consent_info).to_numpy(dtype=bool)
    if "preferred_channel" in known:
        preferred = (
            known["preferred_channel"]
            .astype(object)
            .where(known["preferred_channel"].notna(), None)
        )
        preferred = preferred.to_numpy(dtype=object)
    else:
        preferred = np.full(n, None, dtype=object)
    return allowed, preferred


def choose_channels(
    playbook_names: np.ndarray,
    allowed: dict[str, np.ndarray],
    preferred: np.ndarray,
    playbooks: Playbooks,
) -> np.ndarray:
    """The channel to use: the preferred one if the playbook allows it and there is consent, else the
    playbook's first channel with consent; None when no channel qualifies."""
    chosen = np.full(len(playbook_names), None, dtype=object)
    for name in pd.unique(playbook_names):
        rows = np.flatnonzero(playbook_names == name)
        order = playbooks.action(name).channels
        picked = np.full(len(rows), None, dtype=object)
        for channel in reversed(order):
            picked[allowed[channel][rows]] = channel
        for channel in order:
            picked[allowed[channel][rows] & (preferred[rows] == channel)] = channel
        chosen[rows] = picked
    return chosen


def customer_template_languages(
    customer_ids: pd.Series, languages: Mapping[str, str], default: str
) -> np.ndarray:
    """Each customer's language as templates know it (en, ja); others and unknowns in `default`."""
    from outreach.messages import template_language

    fallback = template_language(default)
    return np.array(
        [template_language(languages.get(c, fallback)) for c in customer_ids], dtype=object
    )


def consented_channels(
    playbook_names: np.ndarray, allowed: dict[str, np.ndarray], playbooks: Playbooks
) -> list[list[str]]:
    """Per customer, the playbook's channels they consented to, in its order (retries walk it)."""
    orders = {name: playbooks.action(name).channels for name in pd.unique(playbook_names)}
    return [
        [channel for channel in orders[name] if allowed[channel][row]]
        for row, name in enumerate(playbook_names)
    ]


def item_reasons(reasons: Any, language: str, limit: int = 3) -> list[dict[str, Any]]:
    """The reasons stored with an item: code, feature, value and the sentence in its language."""
    stored = []
    for reason in list(reasons if reasons is not None else [])[:limit]:
        code, sentence = _reason_fields(reason, language)
        fields = reason if isinstance(reason, Mapping) else vars(reason)
        value = fields.get("value")
        stored.append(
            {
                "code": code,
                "feature": fields.get("feature"),
                "value": None if value is None or pd.isna(value) else float(value),
                "sentence": sentence,
            }
        )
    return stored


def add_drafts(items: pd.DataFrame, as_of: date, playbooks: Playbooks) -> pd.DataFrame:
    """Each item's draft in its customer's language, from that customer's own reasons only."""
    from outreach.messages import draft_facts, render_draft

    items = items.copy()
    subjects, bodies, stored = [], [], []
    for row in items.itertuples(index=False):
        reasons = item_reasons(row.reasons, row.language)
        facts = draft_facts(
            reasons,
            as_of,
            row.language,
            getattr(row, "days_since_last_order", None),
            getattr(row, "days_late_last_order", None),
        )
        draft = render_draft(
            row.playbook,
            row.channel,
            row.language,
            reasons,
            facts,
            playbooks.messages,
            reason_sentence=row.reason_sentence,
        )
        subjects.append(draft.subject)
        bodies.append(draft.body)
        stored.append({"reasons": reasons, "facts": facts})
    items["message_subject"] = subjects
    items["message_body"] = bodies
    items["draft_context"] = stored
    return items


def _check_scored(scored: pd.DataFrame) -> None:
    missing = [c for c in SCORED_COLUMNS if c not in scored.columns]
    if missing:
        raise ValueError(
            f"scored frame: missing columns {missing}; expected at least {list(SCORED_COLUMNS)}"
        )
    duplicated = scored["customer_id"].duplicated()
    if duplicated.any():
        raise ValueError(
            f"scored frame: customer_id {scored.loc[duplicated, 'customer_id'].iloc[0]!r} appears more than once"
        )
    probability = scored["churn_probability"]
    bad = probability.isna() | (probability < 0) | (probability > 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"scored frame: row {row}, column churn_probability: {float(probability.iloc[row])!r} is not a probability in [0, 1]"
        )


def _by_priority(frame: pd.DataFrame, priority: str) -> pd.DataFrame:
    """Highest `priority` first; ties by probability, then customer id (stable across runs)."""
    return frame.sort_values(
        [priority, "churn_probability", "customer_id"],
        ascending=[False, False, True],
        kind="mergesort",
    )


def _switch_playbooks(
    frame: pd.DataFrame,
    switch: Mapping[int, str],
    reachable: pd.DataFrame,
    choice: tuple[list[Any], np.ndarray, np.ndarray],
    channels: tuple[dict[str, np.ndarray], np.ndarray],
    playbooks: Playbooks,
) -> pd.DataFrame:
    """`frame` with the rows of `switch` (row label -> playbook) given that playbook: its saving,
    reason and channels, as `choose_by_saving` and `choose_channels` would have picked them had it
    been the only one (a precedence rule's customer whose team is full included). `choice`:
    reasons, codes and sentences per row label; `channels`: allowed channels and preferred channel
    per row label."""
    reasons, codes, sentences = choice
    allowed, preferred = channels
    at = pd.Index(list(switch))
    only = reachable.loc[at].copy()
    for row, name in switch.items():
        only.loc[row, only.columns != name] = np.nan
    names, new_codes, new_sentences, saving = choose_by_saving(
        [reasons[i] for i in at],
        np.array(list(switch.values()), dtype=object),  # no precedence rule holds them now
        codes[at],
        sentences[at],
        only,
        playbooks,
        frame.loc[at, "language"].tolist(),
    )
    allowed_at = {channel: mask[at] for channel, mask in allowed.items()}
    out = frame.copy()
    out.loc[at, "playbook"] = names
    out.loc[at, "reason_code"] = new_codes
    out.loc[at, "reason_sentence"] = new_sentences
    out.loc[at, "expected_saving"] = saving
    out.loc[at, "channel"] = choose_channels(names, allowed_at, preferred[at], playbooks)
    out.loc[at, "channels"] = pd.Series(
        consented_channels(names, allowed_at, playbooks), index=at, dtype=object
    )
    return out


def select_outreach(
    scored: pd.DataFrame,
    customers: pd.DataFrame | None,
    as_of: date,
    playbooks: Playbooks,
    config: OutreachConfig,
    cooling_down: Collection[str] = (),
    savings: pd.DataFrame | None = None,
    silent_since_contact: Collection[str] = (),
    languages: Mapping[str, str] | None = None,
) -> OutreachSelection:
    """Apply the rules (module docstring) to one day's scored customers.

    `scored` has SCORED_COLUMNS (reasons: a list of {code, sentence, contribution}, strongest first);
    `customers` the contract's customers table (consents, preferred_channel) or None;
    `cooling_down` the customer ids the store says are in cooldown on `as_of`;
    `savings` (rows as in `scored`, one column per reason playbook and the default) the expected
    saving of each playbook: each customer gets the playbook that saves most and the queue ranks by
    it. Without it, playbooks follow reasons and the queue ranks by value at risk.
    `silent_since_contact`: customers a past contact did not bring back
    (`features.contacts.silent_since_contact`).
    `languages`: each customer's language (`features.language.customer_languages`), the config's
    default for others.
    """
    _check_scored(scored)
    if savings is not None and len(savings) != len(scored):
        raise ValueError(
            f"savings: {len(savings)} rows for {len(scored)} scored customers; expected one each"
        )
    excluded = dict.fromkeys(EXCLUSION_RULES, 0)
    period = period_of(as_of, config.control_period)
    capacities = playbooks.capacities(config.team_capacity)

    probability = scored["churn_probability"].to_numpy(dtype="float64")
    keep = probability >= config.min_churn_probability
    excluded["below_min_probability"] = int((~keep).sum())
    extra = [c for c in DRAFT_FACT_COLUMNS if c in scored.columns]
    frame = scored.loc[keep, [*SCORED_COLUMNS, *extra]].reset_index(drop=True)
    kept_savings = None if savings is None else savings.loc[keep].reset_index(drop=True)
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["language"] = customer_template_languages(
        frame["customer_id"], languages or {}, config.default_language
    )
    frame["expected_value"] = expected_value(
        frame["orders_365d"],
        frame["avg_order_value"],
        frame["tenure_days"],
        config.horizon_days,
        config.min_rate_days,
    )
    frame["value_at_risk"] = value.value_at_risk(
        frame["churn_probability"], frame["expected_value"]
    )

    reasons = frame["reasons"].tolist()
    names, codes, sentences = choose_playbooks(
        reasons,
        frame["tenure_days"].to_numpy(dtype="float64"),
        frame["expected_value"].to_numpy(),
        frame["churn_probability"].to_numpy(dtype="float64"),
        playbooks,
        frame["language"].tolist(),
    )
    allowed, preferred = allowed_channels(
        customers, pd.Index(frame["customer_id"]), config.channels_without_consent_info
    )
    frame["expected_saving"] = np.nan
    reachable = None
    if kept_savings is not None:
        reachable = reachable_savings(kept_savings, allowed, playbooks)
        names, codes, sentences, frame["expected_saving"] = choose_by_saving(
            reasons, names, codes, sentences, reachable, playbooks, frame["language"].tolist()
        )
    frame["playbook"], frame["reason_code"], frame["reason_sentence"] = names, codes, sentences
    frame["channel"] = choose_channels(names, allowed, preferred, playbooks)
    frame["channels"] = consented_channels(names, allowed, playbooks)
    has_channel = frame["channel"].notna().to_numpy()
    excluded["no_consented_channel"] = int((~has_channel).sum())
    frame = frame.loc[has_channel]

    cooling = frame["customer_id"].isin(set(cooling_down)).to_numpy()
    excluded["cooldown"] = int(cooling.sum())
    frame = frame.loc[~cooling]

    silent = frame["customer_id"].isin(set(silent_since_contact)).to_numpy()
    excluded["silent_since_contact"] = int(silent.sum())
    frame = frame.loc[~silent]

    if kept_savings is not None:
        saves = frame["expected_saving"].to_numpy() > config.min_expected_saving
        excluded["no_playbook_saves"] = int((~saves).sum())
        frame = frame.loc[saves]

    no_reason = frame["reason_sentence"].fillna("").astype(str).str.len().to_numpy() == 0
    excluded["no_actionable_reason"] = int(no_reason.sum())
    frame = frame.loc[~no_reason]

    action_of = {name: playbooks.action(name) for name in playbooks.action_names()}
    team_of = {n: a.team for n, a in action_of.items()}
    priority = "value_at_risk" if kept_savings is None else "expected_saving"
    frame = _by_priority(frame, priority)
    moved: dict[int, str] = {}
    if reachable is None:
        teams = frame["playbook"].map(team_of)
        slot = teams.groupby(teams, sort=False).cumcount().to_numpy() + 1
        within = slot <= teams.map(capacities).to_numpy()
    else:
        moved, within = assign_within_capacity(
            reachable.loc[frame.index],
            frame["playbook"].to_numpy(),
            team_of,
            capacities,
            config.min_expected_saving,
        )
        if moved:
            switched = frame.index[list(moved)]
            frame = _switch_playbooks(
                frame,
                dict(zip(switched, moved.values(), strict=True)),
                reachable,
                (reasons, codes, sentences),
                (allowed, preferred),
                playbooks,
            )
    excluded["over_capacity"] = int((~within).sum())
    frame = frame.loc[within]
    if moved:  # a moved row ranks by its new saving
        frame = _by_priority(frame, priority)
    frame["team"] = frame["playbook"].map(team_of)
    frame["action"] = frame["playbook"].map({n: a.action for n, a in action_of.items()})

    held_out = in_control_group(
        frame["customer_id"], period, config.control_seed, config.control_fraction
    )
    excluded["control_group"] = int(held_out.sum())
    control = frame.loc[held_out, list(CONTROL_COLUMNS)].reset_index(drop=True)
    items = frame.loc[~held_out].copy()
    items["priority_rank"] = items.groupby("team", sort=False).cumcount() + 1
    items = add_drafts(items, as_of, playbooks)
    items["due_at"] = [
        due_at(as_of, playbooks.teams[team].service_level_hours) for team in items["team"]
    ]
    items = items.loc[:, list(ITEM_COLUMNS)].reset_index(drop=True)
    return OutreachSelection(
        items=items,
        control=control,
        excluded=excluded,
        scored=len(scored),
        period=period,
        queued_by_team={str(k): int(v) for k, v in items["team"].value_counts().items()},
    )
