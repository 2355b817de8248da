"""Who may do what on the queues: the acting agent is bound to the key, keys may be limited to
teams, and what agents send reaches the CSV export as text, never as a formula."""

from __future__ import annotations

import csv
import io

from common.settings import get_settings
from outreach.store import open_store
from serving.keys import create_key


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_cannot_move_another_keys_claim_unless_it_supervises(api, queued_team):
    path = get_settings().api_keys_path
    other, _ = create_key(path, "agents-elsewhere", "outreach")
    boss, _ = create_key(path, "floor-lead", "supervisor")
    claimed = api.client.post(
        f"/queue/{queued_team}/claim",
        json={"n": 1, "agent": "ann"},
        headers=_auth(api.outreach_key),
    )
    item = claimed.json()["items"][0]
    assert item["claimed_by"] == "ann via agents"

    outcome = f"/queue/items/{item['id']}/outcome"
    for state in ("contacted", "queued"):
        stolen = api.client.post(
            outcome, json={"state": state, "agent": "ann"}, headers=_auth(other)
        )
        assert stolen.status_code == 409, stolen.text
        assert "claimed by 'ann via agents'" in stolen.text
    own = api.client.post(
        outcome, json={"state": "contacted", "agent": "ann"}, headers=_auth(api.outreach_key)
    )
    assert own.status_code == 200 and own.json()["contacted_by"] == "ann via agents"
    late = api.client.post(outcome, json={"state": "resolved"}, headers=_auth(other))
    assert late.status_code == 409
    # a supervisor is bound to their key too: posing as ann is recorded as who it is
    supervised = api.client.post(
        outcome, json={"state": "resolved", "agent": "ann via agents"}, headers=_auth(boss)
    )
    assert supervised.status_code == 200, supervised.text
    moved = supervised.json()
    assert moved["state"] == "resolved" and moved["outcome_by"] == "ann via agents via floor-lead"
    assert moved["claimed_by"] == "ann via agents"  # whose claim it was stays on the item
    store = open_store(get_settings().queue_database_url)
    try:
        moves = [
            (m.to_state.value, m.agent, m.claimant, m.supervised) for m in store.moves(item["id"])
        ]
    finally:
        store.close()
    assert moves == [
        ("contacted", "ann via agents", "ann via agents", False),
        ("resolved", "ann via agents via floor-lead", "ann via agents", True),
    ]


def test_a_supervisor_handing_back_someone_elses_claim_leaves_both_names(api, queued_team):
    """Handing back clears the claim on the item; the record of the move keeps it."""
    boss, _ = create_key(get_settings().api_keys_path, "floor-lead", "supervisor")
    claimed = api.client.post(
        f"/queue/{queued_team}/claim",
        json={"n": 1, "agent": "bob"},
        headers=_auth(api.outreach_key),
    )
    item = claimed.json()["items"][0]
    released = api.client.post(
        f"/queue/items/{item['id']}/outcome", json={"state": "queued"}, headers=_auth(boss)
    )
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "queued" and released.json()["claimed_by"] is None
    store = open_store(get_settings().queue_database_url)
    try:
        (move,) = store.moves(item["id"])
    finally:
        store.close()
    assert (move.from_state.value, move.to_state.value) == ("claimed", "queued")
    assert (move.agent, move.claimant, move.supervised) == ("floor-lead", "bob via agents", True)


def test_a_key_limited_to_teams_works_only_their_queues(api, queued_team):
    path = get_settings().api_keys_path
    mine, _ = create_key(path, "team-only", "outreach", teams=queued_team)
    others, _ = create_key(path, "other-team", "outreach", teams="not-this-team")
    assert api.client.get(f"/queue/{queued_team}", headers=_auth(mine)).status_code == 200
    for method, route, body in (
        ("GET", f"/queue/{queued_team}", None),
        ("POST", f"/queue/{queued_team}/claim", {"n": 1}),
        ("GET", f"/queue/{queued_team}/export.csv", None),
        ("GET", f"/agent/rows?team={queued_team}", None),
    ):
        refused = api.client.request(method, route, json=body, headers=_auth(others))
        assert refused.status_code == 403, (route, refused.text)
        assert "not-this-team" in refused.text
    item = api.client.post(
        f"/queue/{queued_team}/claim", json={"n": 1}, headers=_auth(mine)
    ).json()["items"][0]
    moved = api.client.post(
        f"/queue/items/{item['id']}/outcome", json={"state": "contacted"}, headers=_auth(others)
    )
    assert moved.status_code == 403


def test_the_export_opened_as_csv_holds_no_formula(api, queued_team):
    agent = '=HYPERLINK("http://evil.example","x")'
    claimed = api.client.post(
        f"/queue/{queued_team}/claim",
        json={"n": 2, "agent": agent},
        headers=_auth(api.outreach_key),
    ).json()["items"]
    noted = api.client.post(
        f"/queue/items/{claimed[0]['id']}/outcome",
        json={"state": "contacted", "agent": agent, "notes": "@SUM(1+1)"},
        headers=_auth(api.outreach_key),
    )
    assert noted.status_code == 200, noted.text
    response = api.client.get(f"/queue/{queued_team}/export.csv", headers=_auth(api.outreach_key))
    rows = list(csv.DictReader(io.StringIO(response.text)))
    cells = [cell for row in rows for cell in row.values() if cell]
    assert not [c for c in cells if c[0] in "=+-@\t\r"]
    assert any(row["notes"] == "'@SUM(1+1)" for row in rows)
    assert any(row["claimed_by"].startswith("'=HYPERLINK") for row in rows)
