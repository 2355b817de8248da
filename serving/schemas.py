"""Request and response models of the HTTP API; their descriptions are the OpenAPI document."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final, Literal

import bentoml
from pydantic import BaseModel, ConfigDict, Field

from models.reasons import LANGUAGES as REASON_LANGUAGES

MAX_CUSTOMERS_PER_REQUEST: Final = 1_000

# Strict: "80" is not a number and "yes" is not a boolean; a CRM that sends them has a bug to fix.
FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]

# A BCP 47 tag as CRMs send them (`ja`, `ja-JP`, `en_GB`); whether it is supported is checked after.
LanguageTag = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        max_length=35,
        examples=["ja"],
    ),
]
LANGUAGE_HELP: Final = (
    "Language to write the reasons in, a BCP 47 tag (`en`, `ja`, `ja-JP`: its primary subtag "
    f"decides). Supported: {', '.join(REASON_LANGUAGES)} (the reason catalogue's); any other is "
    "refused (400)."
)


class CustomerToScore(BaseModel):
    """One customer to score: by id from the published snapshot, or with the features given inline."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(
        min_length=1,
        max_length=128,
        description="The shop's customer id. Without `features` the service looks the customer up in "
        "the latest published feature snapshot.",
        examples=["C000042"],
    )
    features: dict[str, FiniteNumber | None] | None = Field(
        None,
        description="Feature values to score instead of the snapshot's, by feature name (see "
        "GET /readyz for the model's `feature_names`). Finite numbers only. A feature that is "
        "absent or null is scored as missing (NaN), which the model treats as 'unknown', exactly as "
        "in training; the snapshot's value is NOT filled in. Catalogue features the model does not "
        "use are ignored; names outside the catalogue, and negative counts, amounts or days, are "
        "refused (400).",
        examples=[{"days_since_last_order": 140.0, "late_deliveries_90d": 2.0}],
    )
    language: LanguageTag | None = Field(
        None,
        description=LANGUAGE_HELP
        + " Default: the request's `language`, else the customer's language as the daily job "
        "resolved it (customers.language, else the language of their own texts, else "
        "CHURNGUARD_LANGUAGE; the queue's drafts use the same), else CHURNGUARD_LANGUAGE for "
        "inline features.",
    )


class ScoreRequest(bentoml.IODescriptor):
    """Body of POST /score."""

    # Validation errors of this body are logged by BentoML: never echo the input (customer ids).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    customers: list[CustomerToScore] = Field(
        min_length=1,
        max_length=MAX_CUSTOMERS_PER_REQUEST,
        description=f"Customers to score, 1 to {MAX_CUSTOMERS_PER_REQUEST}; results come back in "
        "the same order.",
    )
    reasons: bool = Field(
        True,
        strict=True,
        description="Whether to explain each score with up to three reasons (costs a little time).",
    )
    language: LanguageTag | None = Field(
        None,
        description=LANGUAGE_HELP
        + " For every customer of the request that does not give its own `language`.",
    )


class Reason(BaseModel):
    """Why this customer is at risk, in the catalogue's code and in words an agent can read."""

    code: str = Field(
        description="Reason code the outreach playbooks understand, e.g. LATE_DELIVERY."
    )
    sentence: str = Field(
        description="The reason in words, from the customer's values, in the result's `language`, "
        "e.g. '2 late deliveries in the last 90 days' or '直近90日で配送の遅れが2件ありました'."
    )
    contribution: float = Field(
        description="How much this reason raised the risk, in log-odds (TreeSHAP); larger is stronger."
    )


class ScoredCustomer(BaseModel):
    status: Literal["scored"] = Field("scored", description="This customer was scored.")
    customer_id: str = Field(description="As given in the request.")
    churn_probability: float = Field(
        description="Calibrated probability of no order within the model's horizon (0-1)."
    )
    risk_band: Literal["low", "medium", "high"] = Field(
        description="Band by the calibrated probability itself: high from CHURNGUARD_RISK_BAND_HIGH "
        "(default 0.8), medium from CHURNGUARD_RISK_BAND_MEDIUM (default 0.5), else low. "
        "The rank among customers is `percentile`."
    )
    percentile: float = Field(
        description="Share (0-100) of the reference population with a lower churn risk."
    )
    expected_saving: float | None = Field(
        None,
        description="What the day's best playbook is expected to save (predicted drop in churn "
        "probability x expected value, shop currency), as the daily job decided from the published "
        "snapshot; null for inline features or a snapshot published without it.",
    )
    reasons: list[Reason] | None = Field(
        description="Up to three reasons, strongest first; null when the request said reasons=false."
    )
    language: str = Field(
        description="Language (primary subtag) the reasons are written in: the customer's or the "
        "request's `language`, else the customer's language as the daily job resolved it, else "
        "CHURNGUARD_LANGUAGE."
    )
    model_version: str = Field(description="Registry version of the model that scored.")
    features_source: Literal["snapshot", "inline"] = Field(
        description="Where the features came from: the published snapshot or the request."
    )
    features_as_of: date | None = Field(
        description="Day of the snapshot the features describe; null for inline features."
    )
    missing_features: list[str] = Field(
        default_factory=list,
        description="Inline features that were absent or null and scored as missing.",
    )


class UnscoredCustomer(BaseModel):
    status: Literal["error"] = Field("error", description="This customer could not be scored.")
    customer_id: str = Field(description="As given in the request.")
    error: Literal["unknown_customer", "no_snapshot"] = Field(
        description="unknown_customer: not in the published snapshot (new, or not active in the "
        "lookback window); no_snapshot: no snapshot is published yet, send features inline."
    )
    message: str = Field(description="What went wrong, in words.")


CustomerResult = Annotated[ScoredCustomer | UnscoredCustomer, Field(discriminator="status")]


class ScoreResponse(BaseModel):
    results: list[CustomerResult] = Field(
        description="One entry per requested customer, in request order."
    )


class ProblemDetail(BaseModel):
    loc: list[str | int] = Field(description="Where in the request the problem is.")
    msg: str = Field(description="What is wrong and what was expected.")
    type: str = Field(description="A short machine-readable kind of problem.")


class Problem(BaseModel):
    """Every 4xx/503 body has this shape (BentoML's own 400s for body validation do too)."""

    error: str = Field(description="What went wrong, in one line.")
    detail: list[ProblemDetail] = Field(default_factory=list)


class Readiness(BaseModel):
    ready: bool
    reason: str | None = Field(None, description="Why the service is not ready (when it is not).")
    model_uri: str | None
    model_version: str | None
    feature_schema_version: str | None
    feature_names: list[str] = Field(default_factory=list)
    snapshot_as_of: date | None
    snapshot_customers: int | None
    snapshot_catalogue_version: str | None
    loaded_at: str | None
    last_check_at: str | None
    last_reload_error: str | None = Field(
        None, description="The latest failed reload; the service keeps serving what it had."
    )
