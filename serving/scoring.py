"""Scoring a request, as plain functions: validate -> look up -> score -> results.

Works on one numpy matrix for the whole request (never a DataFrame per row); explains only when asked.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from features.catalogue import FEATURES_BY_NAME, SIGNED_FEATURES
from features.language import primary_subtag
from models.reasons import LANGUAGES
from serving.problems import validation_problem
from serving.schemas import (
    CustomerToScore,
    ProblemDetail,
    Reason,
    ScoredCustomer,
    ScoreResponse,
    UnscoredCustomer,
)
from serving.state import Loaded

logger = logging.getLogger("churnguard.serving")

TOP_K_REASONS = 3


@dataclass
class RequestProblem(Exception):
    """A request the service refuses: HTTP status, one line, and where in the request."""

    status: int
    error: str
    detail: list[ProblemDetail] = field(default_factory=list)

    def body(self) -> dict:
        return {"error": self.error, "detail": [d.model_dump() for d in self.detail]}


def redact(customer_id: str, salt: str = "") -> str:
    """What the logs say instead of a customer id: a short keyed hash (same id, same hash)."""
    return hashlib.sha256((salt + customer_id).encode("utf-8")).hexdigest()[:12]


def check_feature_names(customers: Sequence[CustomerToScore], column_of: dict[str, int]) -> None:
    """Inline features must be the model's or the catalogue's, and a count, amount or number of days
    is never negative: 400 naming each problem and where it was. A catalogue feature the model does
    not use (say, a delivery feature sent to a model trained on a shop with orders alone) is
    accepted and ignored, so a CRM can send every feature."""
    detail = []
    for i, customer in enumerate(customers):
        for name, value in (customer.features or {}).items():
            loc: list[str | int] = ["customers", i, "features", name]
            if name not in column_of and name not in FEATURES_BY_NAME:
                message = (
                    f"unknown feature {name!r}; the model's features are listed by GET /readyz"
                )
                detail.append(ProblemDetail(loc=loc, msg=message, type="unknown_feature"))
            elif value is not None and value < 0 and name not in SIGNED_FEATURES:
                message = (
                    f"expected a number >= 0 for {name!r} (a count, amount or days), got {value:g}"
                )
                detail.append(ProblemDetail(loc=loc, msg=message, type="negative_value"))
    if detail:
        body = validation_problem([d.model_dump() for d in detail[:100]])
        raise RequestProblem(400, body["error"], detail[:100])


def check_languages(customers: Sequence[CustomerToScore], request_language: str | None) -> None:
    """A language the reason catalogue does not speak is refused (400, naming where), rather than
    answered in English the CRM did not ask for."""
    asked: list[tuple[list[str | int], str]] = []
    if request_language is not None:
        asked.append((["language"], request_language))
    asked += [
        (["customers", i, "language"], customer.language)
        for i, customer in enumerate(customers)
        if customer.language is not None
    ]
    detail = [
        ProblemDetail(
            loc=loc,
            msg=f"unsupported language {tag!r}; expected one of {', '.join(LANGUAGES)} "
            "(a BCP 47 tag such as ja or ja-JP)",
            type="unsupported_language",
        )
        for loc, tag in asked
        if primary_subtag(tag) not in LANGUAGES
    ]
    if detail:
        body = validation_problem([d.model_dump() for d in detail[:100]])
        raise RequestProblem(400, body["error"], detail[:100])


def result_language(
    customer: CustomerToScore,
    request_language: str | None,
    loaded: Loaded,
    default_language: str,
) -> str:
    """The language a customer's reasons are said in: theirs as asked, the request's, the one the
    daily job resolved for them (published with the snapshot), else the shop's."""
    for asked in (customer.language, request_language):
        if asked is not None:
            return primary_subtag(asked)
    snapshot = loaded.snapshot
    if customer.features is None and snapshot is not None and snapshot.languages is not None:
        resolved = primary_subtag(str(snapshot.languages[snapshot.row_of[customer.customer_id]]))
        if resolved in LANGUAGES:
            return resolved
    shop = primary_subtag(default_language)
    return shop if shop in LANGUAGES else "en"


def assemble_matrix(
    customers: Sequence[CustomerToScore], loaded: Loaded
) -> tuple[np.ndarray, list[int], list[UnscoredCustomer]]:
    """The feature matrix of the customers that can be scored, their positions in the request, and
    an error entry for each that cannot."""
    n_features = len(loaded.column_of)
    positions: list[int] = []
    snapshot_rows: list[int] = []
    snapshot_slots: list[int] = []
    inline: list[tuple[int, dict[str, float | None]]] = []
    unscored: list[UnscoredCustomer] = []
    row_of = loaded.snapshot.row_of if loaded.snapshot is not None else None
    for i, customer in enumerate(customers):
        if customer.features is not None:
            inline.append((len(positions), customer.features))
            positions.append(i)
            continue
        row = row_of.get(customer.customer_id) if row_of is not None else None
        if row is None:
            unscored.append(_unscored(i, customer.customer_id, loaded))
            continue
        snapshot_slots.append(len(positions))
        snapshot_rows.append(row)
        positions.append(i)
    X = np.empty((len(positions), n_features), dtype=np.float64)
    if snapshot_rows:
        X[snapshot_slots] = loaded.matrix[snapshot_rows]
    for slot, features in inline:
        X[slot] = np.nan
        for name, value in features.items():
            column = loaded.column_of.get(name)
            if value is not None and column is not None:
                X[slot, column] = value
    return X, positions, unscored


def _unscored(position: int, customer_id: str, loaded: Loaded) -> UnscoredCustomer:
    if loaded.snapshot is None:
        return UnscoredCustomer(
            customer_id=customer_id,
            error="no_snapshot",
            message="no feature snapshot is published yet; send this customer's features inline",
        )
    return UnscoredCustomer(
        customer_id=customer_id,
        error="unknown_customer",
        message=f"customer not in the feature snapshot of {loaded.snapshot.as_of.isoformat()} "
        "(new, or no order in the lookback window); send features inline to score anyway",
    )


def _day_saving(loaded: Loaded, customer_id: str) -> float | None:
    """The daily job's expected saving for a snapshot customer (None when not published)."""
    snapshot = loaded.snapshot
    if snapshot is None or snapshot.expected_saving is None:
        return None
    value = float(snapshot.expected_saving[snapshot.row_of[customer_id]])
    return None if np.isnan(value) else round(value, 2)


def score_request(
    customers: Sequence[CustomerToScore],
    loaded: Loaded,
    with_reasons: bool = True,
    top_k: int = TOP_K_REASONS,
    log_salt: str = "",
    language: str | None = None,
    default_language: str = "en",
) -> tuple[ScoreResponse, Counter[str]]:
    """Score every customer of a request with one model call; return the response and per-outcome
    counts (for metrics). Reasons are said in each customer's language (`result_language`)."""
    check_feature_names(customers, loaded.column_of)
    check_languages(customers, language)
    X, positions, unscored = assemble_matrix(customers, loaded)
    results: list[ScoredCustomer | UnscoredCustomer | None] = [None] * len(customers)
    outcomes: Counter[str] = Counter()
    for entry in unscored:
        outcomes[entry.error] += 1
    if unscored:
        logger.info(
            "%d customer(s) not scored: %s",
            len(unscored),
            ", ".join(f"{e.error}:{redact(e.customer_id, log_salt)}" for e in unscored[:20]),
        )
    # Unscored entries fill the gaps left by the scored positions, in request order.
    scored_at = set(positions)
    gaps = iter(unscored)
    for i in range(len(customers)):
        if i not in scored_at:
            results[i] = next(gaps)
    if positions:
        scorer = loaded.scorer
        probability = scorer.predict_proba(X)
        bands = scorer.risk_band(probability).tolist()
        percentiles = np.round(scorer.percentile(probability), 1).tolist()
        explained = scorer.explain(X, top_k=top_k) if with_reasons else None
        as_of = loaded.snapshot.as_of if loaded.snapshot is not None else None
        names = list(loaded.column_of)
        for slot, (i, p) in enumerate(zip(positions, probability.tolist(), strict=True)):
            customer = customers[i]
            inline = customer.features is not None
            said_in = result_language(customer, language, loaded, default_language)
            reasons = (
                [
                    Reason.model_construct(
                        code=r.code,
                        sentence=r.sentence_in(said_in),
                        contribution=round(float(r.contribution), 4),
                    )
                    for r in explained[slot]
                ]
                if explained is not None
                else None
            )
            results[i] = ScoredCustomer.model_construct(
                status="scored",
                customer_id=customer.customer_id,
                churn_probability=p,
                risk_band=bands[slot],
                percentile=percentiles[slot],
                expected_saving=None if inline else _day_saving(loaded, customer.customer_id),
                reasons=reasons,
                language=said_in,
                model_version=loaded.model_version,
                features_source="inline" if inline else "snapshot",
                features_as_of=None if inline else as_of,
                missing_features=[n for n in names if customer.features.get(n) is None]
                if inline
                else [],
            )
        outcomes["scored"] += len(positions)
    return ScoreResponse.model_construct(results=results), outcomes
