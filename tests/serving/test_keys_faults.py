"""The keys file under real concurrent `churnguard keys` processes, and a keys file that cannot be
read: changes never lose one another, and the service says 503 (never hangs) until it is fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from serving.keys import create_key, read_key_file

CHURNGUARD = str(Path(sys.executable).with_name("churnguard"))


def _keys(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CHURNGUARD_HOME": str(home)}
    return subprocess.Popen(
        [CHURNGUARD, "keys", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _finish(processes: list[subprocess.Popen]) -> list[int]:
    for process in processes:
        process.communicate(timeout=120)
    return [process.returncode for process in processes]


def test_ten_concurrent_creates_store_ten_keys(tmp_path):
    home = tmp_path / "home"
    codes = _finish([_keys(home, "create", "--name", f"crm-{i}", "-q") for i in range(10)])
    assert codes == [0] * 10
    stored = read_key_file(home / "api_keys.json")
    assert sorted(k.name for k in stored) == sorted(f"crm-{i}" for i in range(10))
    assert not list(home.glob("*.partial"))


def test_a_revocation_racing_creates_is_never_lost(tmp_path):
    home = tmp_path / "home"
    path = home / "api_keys.json"
    for round_ in range(3):
        create_key(path, f"boss-{round_}", "admin")
        racing = [_keys(home, "revoke", f"boss-{round_}")]
        racing += [_keys(home, "create", "--name", f"agent-{round_}-{i}", "-q") for i in range(4)]
        assert _finish(racing) == [0] * 5
        json.loads(path.read_text())  # always a whole file
        by_name = {k.name: k for k in read_key_file(path)}
        assert by_name[f"boss-{round_}"].revoked_at is not None
        assert all(f"agent-{round_}-{i}" in by_name for i in range(4))


def test_an_unreadable_keys_file_is_not_ready_and_503_then_recovers(
    serving_home, serving_world, asgi_app
):
    path = serving_home / "api_keys.json"
    key, _ = create_key(path, "crm", "score")
    good = path.read_text()
    body = {"customers": [{"customer_id": serving_world.customer_ids[0]}]}
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(asgi_app, raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 200
        path.write_text(good[: len(good) // 2])  # cut mid-write by hand
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "API keys file cannot be read" in ready.json()["reason"]
        refused = client.post("/score", json=body, headers=headers, timeout=10)
        assert refused.status_code == 503
        assert "API keys file cannot be read" in refused.json()["error"]

        path.write_text(good)
        assert client.get("/readyz").status_code == 200
        assert client.post("/score", json=body, headers=headers).status_code == 200


def test_duplicate_authorization_headers_are_refused(serving_home, asgi_app):
    path = serving_home / "api_keys.json"
    score, _ = create_key(path, "crm", "score")
    admin, _ = create_key(path, "ops", "admin")
    with TestClient(asgi_app, raise_server_exceptions=False) as client:
        response = client.get(
            "/metrics",
            headers=[("Authorization", f"Bearer {score}"), ("Authorization", f"Bearer {admin}")],
        )
        assert response.status_code == 400
        assert "Authorization headers" in response.json()["error"]
        alone = client.get("/metrics", headers={"Authorization": f"Bearer {score}"})
        assert alone.status_code == 403
