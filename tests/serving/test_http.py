"""HTTP through the BentoML service's ASGI app: auth, 4xx with what and where, probes, metrics."""

from __future__ import annotations

import json

import pytest

from serving.schemas import MAX_CUSTOMERS_PER_REQUEST


def _ids(world, n=1):
    return [{"customer_id": i} for i in world.customer_ids[:n]]


def test_score_by_id_and_inline_agree_over_http(api, serving_world):
    first = api.score({"customers": _ids(serving_world)}).json()["results"][0]
    readyz = api.client.get("/readyz").json()
    assert first["status"] == "scored" and first["model_version"] == readyz["model_version"]
    assert first["reasons"] is not None
    features = dict.fromkeys(readyz["feature_names"])
    # same customer inline: fetch its values from the snapshot the service published
    row = serving_world.snapshot_frame.set_index("customer_id").loc[first["customer_id"]]
    features = {k: (None if row[k] != row[k] else float(row[k])) for k in features}
    inline = api.score(
        {
            "customers": [{"customer_id": first["customer_id"], "features": features}],
            "reasons": False,
        }
    ).json()["results"][0]
    assert inline["churn_probability"] == first["churn_probability"]
    assert inline["reasons"] is None and inline["features_source"] == "inline"


def test_unknown_customer_is_an_entry_not_a_failed_request(api, serving_world):
    response = api.score({"customers": [{"customer_id": "ghost"}, *_ids(serving_world)]})
    assert response.status_code == 200
    ghost, known = response.json()["results"]
    assert ghost["status"] == "error" and ghost["error"] == "unknown_customer"
    assert known["status"] == "scored"


def test_no_key_wrong_key_and_wrong_role(api, serving_world):
    body = {"customers": _ids(serving_world)}
    missing = api.client.post("/score", json=body)
    assert missing.status_code == 401 and "Bearer" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert api.score(body, key="cg_not-a-key").status_code == 401
    forbidden = api.score(body, key=api.outreach_key)
    assert forbidden.status_code == 403 and "'score'" in forbidden.json()["error"]


def test_unauthenticated_bad_body_is_401_not_400(api):
    assert api.client.post("/score", content=b"{nonsense").status_code == 401


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, ["customers"]),
        ({"customers": []}, ["customers"]),
        ({"customers": [{}]}, ["customers", 0, "customer_id"]),
        ({"customers": [{"customer_id": 42}]}, ["customers", 0, "customer_id"]),
        (
            {"customers": [{"customer_id": "a", "features": {"orders_total": "many"}}]},
            ["customers", 0, "features", "orders_total"],
        ),
        ({"customers": [{"customer_id": "a"}], "reasons": "perhaps"}, ["reasons"]),
        ({"customers": [{"customer_id": "a"}], "reasons": "yes"}, ["reasons"]),
        (
            {"customers": [{"customer_id": "a", "features": {"days_since_last_order": "80"}}]},
            ["customers", 0, "features", "days_since_last_order"],
        ),
        (
            {"customers": [{"customer_id": "a", "features": {"days_since_last_order": -5}}]},
            ["customers", 0, "features", "days_since_last_order"],
        ),
        ({"customers": [{"customer_id": "a"}], "explain": True}, ["explain"]),
        ({"customers": [{"customer_id": "a", "language": "ko"}]}, ["customers", 0, "language"]),
        ({"customers": [{"customer_id": "a", "language": "日本語"}]}, ["customers", 0, "language"]),
        ({"customers": [{"customer_id": "a"}], "language": "ko-KR"}, ["language"]),
    ],
)
def test_invalid_bodies_are_400_with_where(api, body, where):
    response = api.score(body)
    assert response.status_code == 400
    assert where in [d["loc"] for d in response.json()["detail"]]
    path = ".".join(str(p) for p in where).replace(".0.", "[0].")
    assert path in response.json()["error"], "the top line names the field"


def test_reasons_come_in_the_language_asked_for(api, serving_world):
    """A CRM scoring a Japanese customer asks for Japanese (per request or per customer); an
    unsupported language is a 400 naming the ones there are, not English."""
    ids = _ids(serving_world, 5)
    english = api.score({"customers": ids}).json()["results"]
    japanese = api.score({"customers": ids, "language": "ja"}).json()["results"]
    mixed = api.score({"customers": [{**ids[0], "language": "ja-JP"}, ids[1]]}).json()["results"]
    said = [r for r in english if r["reasons"]]
    assert said, "some customer has reasons"
    assert {r["language"] for r in english} == {"en"}
    assert {r["language"] for r in japanese} == {"ja"}
    for en, ja in zip(english, japanese, strict=True):
        assert [r["code"] for r in en["reasons"]] == [r["code"] for r in ja["reasons"]]
        assert all(r["sentence"].isascii() for r in en["reasons"])
        assert not any(r["sentence"].isascii() for r in ja["reasons"])
        assert en["churn_probability"] == ja["churn_probability"]
    assert (mixed[0]["language"], mixed[1]["language"]) == ("ja", "en")
    assert mixed[0]["reasons"] == japanese[0]["reasons"]
    refused = api.score({"customers": ids, "language": "ko"})
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "language: unsupported language 'ko'; expected one of en, ja (a BCP 47 tag such as ja or "
        "ja-JP)"
    )


def test_signed_features_may_be_negative(api):
    body = {"customers": [{"customer_id": "a", "features": {"days_overdue_vs_usual_gap": -5}}]}
    assert api.score(body).status_code == 200


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_refused(api, number):
    body = b'{"customers": [{"customer_id": "a", "features": {"orders_total": ' + number + b"}}]}"
    response = api.client.post(
        "/score",
        content=body,
        headers={"Authorization": f"Bearer {api.score_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["customers", 0, "features", "orders_total"]


def test_malformed_json_is_400(api):
    response = api.client.post(
        "/score",
        content=b'{"customers": [',
        headers={"Authorization": f"Bearer {api.score_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "JSON" in response.json()["detail"][0]["msg"]


def test_unknown_feature_is_400_naming_it_and_where(api):
    response = api.score({"customers": [{"customer_id": "a", "features": {"shoe_size": 44}}]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("customers[0].features.shoe_size: unknown feature")


def test_too_many_customers_is_400_and_too_big_a_body_413(api):
    many = {"customers": [{"customer_id": f"C{i}"} for i in range(MAX_CUSTOMERS_PER_REQUEST + 1)]}
    response = api.score(many)
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["customers"]
    padding = {"customers": [{"customer_id": "x" * 100}] * 30_000}
    assert len(json.dumps(padding)) > 2_000_000
    too_big = api.score(padding)
    assert too_big.status_code == 413 and "bytes" in too_big.json()["error"]


def test_a_thousand_customers_in_one_call(api, serving_world):
    ids = list(serving_world.customer_ids)
    body = {"customers": [{"customer_id": ids[i % len(ids)]} for i in range(1000)]}
    results = api.score(body).json()["results"]
    assert len(results) == 1000 and all(r["status"] == "scored" for r in results)


def test_wrong_content_type_is_415(api):
    response = api.client.post(
        "/score",
        content=b"customer_id=a",
        headers={
            "Authorization": f"Bearer {api.score_key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415


def test_probes_need_no_key(api, serving_world):
    assert api.client.get("/healthz").status_code == 200
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["model_version"] == "1"
    assert body["snapshot_as_of"] == serving_world.as_of.isoformat()


def test_readyz_is_503_with_the_reason_when_there_is_no_snapshot(serving_home, asgi_app):
    from starlette.testclient import TestClient

    (serving_home / "snapshots" / "latest.json").unlink()
    with TestClient(asgi_app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "snapshot" in response.json()["reason"]


def test_metrics_count_scores_by_outcome(api, serving_world):
    api.score({"customers": [*_ids(serving_world), {"customer_id": "ghost"}]})
    api.client.post("/score", json={"customers": []})
    assert api.client.get("/metrics").status_code == 401
    assert (
        api.client.get("/metrics", headers={"Authorization": f"Bearer {api.score_key}"}).status_code
        == 403
    )
    text = api.client.get("/metrics", headers={"Authorization": f"Bearer {api.admin_key}"}).text
    assert 'churnguard_score_customers_total{outcome="unknown_customer"}' in text
    assert 'churnguard_score_request_seconds_count{outcome="ok"}' in text
    assert 'churnguard_score_request_seconds_count{outcome="unauthorized"}' in text
    assert "bentoml_service_request_total" in text


def test_openapi_document_describes_the_request(api):
    spec = api.client.get("/docs.json").json()
    request = spec["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert request["properties"]["customers"]["maxItems"] == MAX_CUSTOMERS_PER_REQUEST
    assert (
        "description" in spec["components"]["schemas"]["CustomerToScore"]["properties"]["features"]
    )
    language = spec["components"]["schemas"]["CustomerToScore"]["properties"]["language"]
    assert "Supported: en, ja" in str(language) and "customers.language" in str(language)
    assert "language" in request["properties"]


def test_metrics_label_routes_not_raw_paths(api):
    outreach = {"Authorization": f"Bearer {api.outreach_key}"}
    for team in ("sales", "made-up-team-1", "made-up-team-2"):
        api.client.get(f"/queue/{team}", headers=outreach)
    api.client.post("/queue/items/12345/outcome", json={"state": "contacted"}, headers=outreach)
    assert api.client.get("/queue/sales", headers=outreach).status_code == 404  # routing intact
    text = api.client.get("/metrics", headers={"Authorization": f"Bearer {api.admin_key}"}).text
    assert 'endpoint="/queue/{team}"' in text
    assert 'endpoint="/queue/items/{item_id}/outcome"' in text
    assert "made-up-team" not in text and "/queue/sales" not in text and "12345" not in text
