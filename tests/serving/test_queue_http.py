"""Outreach queues over HTTP (role outreach): list, atomic claim, outcomes, CSV export."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor


def _auth(api):
    return {"Authorization": f"Bearer {api.outreach_key}"}


def test_list_claim_and_record_an_outcome(api, queued_team):
    listed = api.client.get(f"/queue/{queued_team}", headers=_auth(api))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert items and all(i["team"] == queued_team and i["state"] == "queued" for i in items)
    assert [i["priority_rank"] for i in items] == sorted(i["priority_rank"] for i in items)

    claimed = api.client.post(f"/queue/{queued_team}/claim", json={"n": 2}, headers=_auth(api))
    assert claimed.status_code == 200
    first, second = claimed.json()["items"]
    assert first["claimed_by"] == "agents"  # the key's name when no agent is given
    assert [first["id"], second["id"]] == [items[0]["id"], items[1]["id"]]

    contacted = api.client.post(
        f"/queue/items/{first['id']}/outcome", json={"state": "contacted"}, headers=_auth(api)
    )
    assert contacted.status_code == 200 and contacted.json()["state"] == "contacted"
    resolved = api.client.post(
        f"/queue/items/{first['id']}/outcome",
        json={"state": "resolved", "notes": "voucher accepted"},
        headers=_auth(api),
    )
    assert resolved.json()["state"] == "resolved" and resolved.json()["notes"] == "voucher accepted"


def test_illegal_moves_and_missing_items_are_4xx(api, queued_team):
    item = api.client.get(f"/queue/{queued_team}", headers=_auth(api)).json()["items"][0]
    skip = api.client.post(
        f"/queue/items/{item['id']}/outcome", json={"state": "resolved"}, headers=_auth(api)
    )
    assert skip.status_code == 409 and "cannot become resolved" in skip.json()["error"]
    missing = api.client.post(
        "/queue/items/999999/outcome", json={"state": "contacted"}, headers=_auth(api)
    )
    assert missing.status_code == 404
    assert missing.json()["error"] == "no queue item with id 999999"
    bad = api.client.post(f"/queue/{queued_team}/claim", json={"n": 0}, headers=_auth(api))
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("n: Input should be greater than or equal to 1")
    assert bad.json()["detail"][0]["loc"] == ["n"]


def test_someone_elses_claim_is_409_by_kind(api, queued_team):
    claimed = api.client.post(
        f"/queue/{queued_team}/claim", json={"n": 1, "agent": "ann"}, headers=_auth(api)
    ).json()["items"][0]
    response = api.client.post(
        f"/queue/items/{claimed['id']}/outcome",
        json={"state": "contacted", "agent": "bob"},
        headers=_auth(api),
    )
    assert response.status_code == 409
    assert response.json()["detail"][0]["type"] == "not_claimant"


def test_the_default_date_is_the_latest_built_queue(api, queued_team, serving_world):
    from datetime import timedelta

    built = serving_world.as_of + timedelta(days=1)
    listed = api.client.get(f"/queue/{queued_team}", headers=_auth(api)).json()
    assert listed["queue_date"] == built.isoformat() and listed["items"]
    export = api.client.get(f"/queue/{queued_team}/export.csv", headers=_auth(api))
    assert built.isoformat() in export.headers["content-disposition"]
    records = list(csv.reader(io.StringIO(export.text)))  # drafts span lines inside quotes
    assert len(records) == len(listed["items"]) + 1
    claimed = api.client.post(f"/queue/{queued_team}/claim", json={"n": 1}, headers=_auth(api))
    assert claimed.json()["queue_date"] == built.isoformat()


def test_a_date_without_a_queue_says_the_latest(api, queued_team, serving_world):
    from datetime import timedelta

    built = serving_world.as_of + timedelta(days=1)
    response = api.client.get(
        f"/queue/{queued_team}", params={"date": "2020-01-01"}, headers=_auth(api)
    )
    assert response.status_code == 404
    assert response.json()["error"] == f"no queue built for 2020-01-01; latest is {built}"


def test_an_unknown_team_is_404_naming_the_teams(api, queued_team):
    for response in (
        api.client.get("/queue/sales", headers=_auth(api)),
        api.client.post("/queue/sales/claim", json={"n": 1}, headers=_auth(api)),
        api.client.get("/queue/sales/export.csv", headers=_auth(api)),
    ):
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error.startswith("unknown team 'sales'; the teams are: ") and queued_team in error


def test_every_refusal_has_one_shape(api, queued_team):
    from serving.schemas import Problem

    refusals = [
        api.client.get(f"/queue/{queued_team}", params={"date": "tomorrow"}, headers=_auth(api)),
        api.client.get(f"/queue/{queued_team}", params={"state": "lost"}, headers=_auth(api)),
        api.client.post("/queue/items/1/outcome", json={"state": "won"}, headers=_auth(api)),
        api.client.get("/queue/items/1/outcome", headers=_auth(api)),
        api.client.get("/score", headers={"Authorization": f"Bearer {api.score_key}"}),
        api.score({"customers": [{"customer_id": ""}]}),
        api.score({"customers": [{"customer_id": "x", "features": {"shoe_size": 1.0}}]}),
    ]
    for response in refusals:
        assert response.headers["content-type"].startswith("application/json"), response.text
        body = Problem.model_validate(response.json())
        assert response.status_code in (400, 404, 405), response.text
        assert body.error and body.detail, response.text
    assert [r.status_code for r in refusals] == [400, 400, 400, 405, 405, 400, 400]
    assert refusals[0].json()["error"].startswith("query.date: expected a date as YYYY-MM-DD")
    assert refusals[5].json()["error"].startswith("customers[0].customer_id: ")


def test_concurrent_claims_never_share_an_item(api, queued_team):
    def claim(agent):
        response = api.client.post(
            f"/queue/{queued_team}/claim", json={"n": 3, "agent": agent}, headers=_auth(api)
        )
        return [item["id"] for item in response.json()["items"]]

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(claim, ["ann", "bob", "cem", "dev"]))
    ids = [i for claim_ids in claims for i in claim_ids]
    assert len(ids) == len(set(ids)) and len(ids) > 3


def test_export_is_csv_of_the_team(api, queued_team):
    response = api.client.get(f"/queue/{queued_team}/export.csv", headers=_auth(api))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header, *rows = response.text.strip().splitlines()
    assert "customer_id" in header and rows


def test_queue_needs_the_outreach_role(api, queued_team):
    assert api.client.get(f"/queue/{queued_team}").status_code == 401
    score_only = {"Authorization": f"Bearer {api.score_key}"}
    assert api.client.get(f"/queue/{queued_team}", headers=score_only).status_code == 403
    assert api.client.get("/agent/rows", params={"team": queued_team}).status_code == 401
    assert api.client.get("/agent").status_code == 200  # the page shell holds no data
