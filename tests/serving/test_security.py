"""Nobody let in, nothing given away: roles on every endpoint, hashed keys, no customer id and no
key in the logs or in an error body, size limits before parsing."""

from __future__ import annotations

import json
import logging

import pytest

from serving.guard import OPEN_PATHS, role_for
from serving.keys import hash_key, read_key_file


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_every_documented_endpoint_but_the_probes_needs_a_key(api):
    spec = api.client.get("/docs.json").json()
    open_ones = set()
    for path, operations in spec["paths"].items():
        for method in operations:
            concrete = path.replace("{team}", "retention").replace("{item_id}", "1")
            response = api.client.request(method.upper(), concrete, json={})
            if response.status_code == 401:
                assert operations[method]["security"], path
            else:
                open_ones.add(path)
    assert open_ones == {"/healthz", "/livez", "/readyz", "/agent"}
    assert open_ones <= OPEN_PATHS


@pytest.mark.parametrize(
    ("path", "role"),
    [("/score", "score"), ("/queue/retention", "outreach"), ("/metrics", "admin")],
)
def test_each_role_opens_only_its_own_endpoints(path, role):
    assert role_for(path) == role


def test_metrics_need_admin(api):
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=_bearer(api.outreach_key)).status_code == 403
    assert api.client.get("/metrics", headers=_bearer(api.admin_key)).status_code == 200


def test_readyz_says_why_without_secrets(api):
    report = api.client.get("/readyz").json()
    text = json.dumps(report)
    for key in (api.score_key, api.outreach_key, api.admin_key):
        assert key not in text
    assert "api_keys" not in text and "password" not in text.lower()


def test_keys_are_stored_only_as_hashes(api, serving_home):
    stored = (serving_home / "api_keys.json").read_text()
    for key in (api.score_key, api.outreach_key, api.admin_key):
        assert key not in stored
    digests = {k.sha256 for k in read_key_file(serving_home / "api_keys.json")}
    assert hash_key(api.score_key) in digests
    assert oct((serving_home / "api_keys.json").stat().st_mode & 0o777) == "0o600"


def test_raw_customer_ids_and_keys_never_reach_the_logs_or_error_bodies(api, serving_world, caplog):
    known = serving_world.customer_ids[0]
    ghost = "ghost-customer-4242"
    caplog.set_level(logging.DEBUG)
    bodies = [
        api.score({"customers": [{"customer_id": known}, {"customer_id": ghost}]}).text,
        api.score({"customers": [{"customer_id": ghost, "features": {"nope": 1}}]}).text,
        api.score({"customers": [{"customer_id": ghost, "extra": 1}]}).text,
        api.client.post(
            "/score", json={"customers": [{"customer_id": ghost}]}, headers=_bearer("cg_wrong")
        ).text,
        api.client.post(
            "/score",
            json={"customers": [{"customer_id": ghost}]},
            headers=_bearer(api.outreach_key),
        ).text,
        api.client.get("/metrics", headers=_bearer(api.admin_key)).text,
    ]
    logged = caplog.text
    assert "not scored" in logged  # the ghost was logged, as a hash
    assert ghost not in logged and known not in logged
    for key in (api.score_key, api.outreach_key, api.admin_key):
        assert key not in logged
        assert all(key not in body for body in bodies)
    assert ghost not in bodies[-1] and known not in bodies[-1]  # metrics carry no ids
    assert "cg_wrong" not in logged and "cg_wrong" not in "".join(bodies)


def test_bodies_over_the_limit_are_refused_before_parsing(api, monkeypatch):
    too_big = b'{"customers": [' + b'{"customer_id": "x"},' * 200_000 + b"]}"
    response = api.client.post(
        "/score",
        content=too_big,
        headers={**_bearer(api.score_key), "content-type": "application/json"},
    )
    assert response.status_code == 413 and "larger than" in response.json()["error"]
