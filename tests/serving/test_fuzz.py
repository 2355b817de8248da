"""Schemathesis against the service's own OpenAPI document, through the ASGI app.

Every operation is fuzzed twice: with a key of the role it needs (valid and invalid inputs: never a
5xx, every answer a status, content type and body the document declares, invalid inputs refused),
and with no key, an unknown key, a non-bearer scheme and a key of the wrong role (always 401/403,
also as documented). Deterministic: Hypothesis derandomized, a bounded number of examples.

The requests go through the `api` fixture's client, whose lifespan built the service instance of
this test's CHURNGUARD_HOME (schemathesis' own ASGI transport would start a second instance).
"""

from __future__ import annotations

import sys
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from serving.guard import role_for
from serving.service import _openapi

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_WITH_KEY = 40
EXAMPLES_WITHOUT_KEY = 8

SCHEMA = schemathesis.openapi.from_dict(_openapi())
SCHEMA.config.generation.update(with_security_parameters=False, allow_x00=True)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
FUZZED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_requests_fuzzed():
    yield
    if FUZZED:
        print(
            f"\nfuzzed {sum(FUZZED.values())} requests: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(FUZZED.items())),
            file=sys.stderr,
        )


def _fuzz(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _send(api, case, headers: dict[str, str]):
    """The case as an httpx request on the test's client; returns the response and what was sent."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    sent = {k: v for k, v in kwargs["headers"].items() if k.lower() != "authorization"}
    if "Authorization" in headers:
        sent["Authorization"] = headers["Authorization"]
    extra = {}
    if "json" in kwargs:
        extra["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        extra["content"] = kwargs["data"]
    response = api.client.request(
        kwargs["method"], kwargs["url"], headers=sent, params=kwargs.get("params"), **extra
    )
    return response, sent


def _cases(label: str):
    operation = OPERATIONS[label]
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def keys(api):
    by_role = {"score": api.score_key, "outreach": api.outreach_key, "admin": api.admin_key}
    wrong_role = {"score": api.outreach_key, "outreach": api.score_key, "admin": api.outreach_key}
    return by_role, wrong_role


@pytest.mark.slow
@pytest.mark.parametrize("label", list(OPERATIONS))
def test_with_the_right_key_never_5xx_and_answers_as_documented(label, api, keys, queued_team):
    role = role_for(OPERATIONS[label].path.replace("{", "").replace("}", ""))

    @_fuzz(EXAMPLES_WITH_KEY)
    @given(case=_cases(label))
    def fuzz(case):
        headers = _bearer(keys[0][role or "admin"]) if role is not None else {}
        response, sent = _send(api, case, headers)
        checks = list(CONFORMANCE)
        if case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE:
            checks.append(negative_data_rejection)
        case.validate_response(response, checks=checks, headers=sent)
        FUZZED["with the right key"] += 1

    fuzz()


@pytest.mark.slow
@pytest.mark.parametrize("label", [label for label in OPERATIONS if label != "GET /docs.json"])
def test_without_a_valid_key_nobody_gets_in(label, api, keys):
    role = role_for(OPERATIONS[label].path.replace("{", "").replace("}", ""))
    refusals = [
        ({}, 401),
        (_bearer("cg_not-a-key"), 401),
        (_bearer(keys[0]["score"] + "x"), 401),
        ({"Authorization": "Basic b3BzOm9wcw=="}, 401),
    ]
    if role:
        refusals.append((_bearer(keys[1][role]), 403))

    @_fuzz(EXAMPLES_WITHOUT_KEY)
    @given(case=_cases(label))
    def fuzz(case):
        for headers, refused in refusals:
            response, sent = _send(api, case, headers)
            case.validate_response(response, checks=CONFORMANCE, headers=sent)
            if role is not None:
                assert response.status_code == refused, (label, response.status_code)
                assert "detail" in response.json()
            FUZZED["without a valid key"] += 1

    fuzz()
