"""Outreach queues over HTTP (role outreach): list, atomic claim, outcomes, CSV export."""

from __future__ import annotations

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
    assert skip.status_code == 409 and "cannot become resolved" in skip.json()["detail"]
    missing = api.client.post(
        "/queue/items/999999/outcome", json={"state": "contacted"}, headers=_auth(api)
    )
    assert missing.status_code == 404
    bad = api.client.post(f"/queue/{queued_team}/claim", json={"n": 0}, headers=_auth(api))
    assert bad.status_code == 422


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
