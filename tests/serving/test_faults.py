"""Faults on the real components the service depends on: the MLflow store, the champion's artifact,
a model that does not fit the snapshot, the queue database. The service never serves garbage: it
refuses readiness with the reason (and /score says 503), keeps the model it had, answers 503 for
what is unreachable, and recovers by itself once the fault is gone.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy
from starlette.testclient import TestClient

from common.names import CHAMPION_ALIAS, MODEL_NAME
from serving.keys import create_key

RELOAD_SECONDS = "0.2"


def _wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _set_champion(home: Path, version: str) -> None:
    import mlflow

    uri = f"sqlite:///{home / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, version)


def _storage_of(home: Path, version: int) -> Path:
    with sqlite3.connect(home / "mlflow.db") as db:
        (location,) = db.execute(
            "SELECT storage_location FROM model_versions WHERE version = ?", (version,)
        ).fetchone()
    return Path(location.removeprefix("file://"))


@pytest.fixture()
def fast_reload(serving_home, monkeypatch):
    monkeypatch.setenv("CHURNGUARD_RELOAD_INTERVAL_SECONDS", RELOAD_SECONDS)
    key, _ = create_key(serving_home / "api_keys.json", "crm", "score")
    return {"Authorization": f"Bearer {key}"}


def _score(client, headers, customer_id):
    return client.post(
        "/score", json={"customers": [{"customer_id": customer_id}]}, headers=headers
    )


def test_mlflow_store_unreadable_at_start_refuses_readiness_then_recovers(
    serving_home, serving_world, asgi_app, fast_reload
):
    store = serving_home / "mlflow.db"
    good = store.read_bytes()
    store.write_bytes(b"this is not a database" * 512)
    customer = serving_world.customer_ids[0]
    with TestClient(asgi_app, raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        report = ready.json()
        assert (
            report["ready"] is False
            and "cannot resolve models:/churnguard@champion" in (report["reason"])
        )
        refused = _score(client, fast_reload, customer)
        assert refused.status_code == 503
        assert refused.json()["error"].startswith("no model loaded: ")
        assert "results" not in refused.json()

        store.write_bytes(good)  # the store is back: the reloader picks the champion up by itself
        assert _wait_for(lambda: client.get("/readyz").status_code == 200)
        scored = _score(client, fast_reload, customer)
        assert scored.status_code == 200
        assert scored.json()["results"][0]["model_version"] == "1"


def test_corrupt_champion_artifact_refuses_readiness_until_a_good_champion_is_named(
    serving_home, serving_world, asgi_app, fast_reload
):
    # v2's files are shared by the session's registry copies: corrupt them, restore them after.
    storage = _storage_of(serving_home, 2)
    backup = serving_home.parent / "v2-backup"
    shutil.copytree(storage, backup)
    _set_champion(serving_home, "2")
    try:
        for file in storage.rglob("*"):
            if file.is_file():
                file.write_bytes(b"\x00garbage" * 64)
        with TestClient(asgi_app, raise_server_exceptions=False) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert "cannot load version 2" in ready.json()["reason"]
            assert _score(client, fast_reload, serving_world.customer_ids[0]).status_code == 503

            _set_champion(serving_home, "1")
            assert _wait_for(lambda: client.get("/readyz").status_code == 200)
            assert client.get("/readyz").json()["model_version"] == "1"
    finally:
        shutil.rmtree(storage)
        shutil.copytree(backup, storage)


def test_model_that_does_not_fit_the_snapshot_is_refused_and_the_old_one_kept(
    serving_home, serving_world, asgi_app, champion, fast_reload
):
    import mlflow

    from common.mlflow_service import MlflowService
    from models.pyfunc import log_scorer

    uri = f"sqlite:///{serving_home / 'mlflow.db'}"
    mismatched = dataclasses.replace(champion, feature_schema_version="catalogue-from-elsewhere")
    customer = serving_world.customer_ids[0]
    with TestClient(asgi_app, raise_server_exceptions=False) as client:
        before = _score(client, fast_reload, customer).json()["results"][0]
        with MlflowService(uri).started():
            experiment = mlflow.MlflowClient(tracking_uri=uri).get_experiment_by_name(
                "serving-tests"
            )
            with mlflow.start_run(experiment_id=experiment.experiment_id):
                info = log_scorer(mismatched, serving_world.snapshot_frame)
        _set_champion(serving_home, str(info.registered_model_version))

        report = _wait_for(
            lambda: (r := client.get("/readyz").json())["last_reload_error"] and r, timeout=30
        )
        assert report["ready"] is True and report["model_version"] == "1"
        assert "catalogue-from-elsewhere" in report["last_reload_error"]
        after = _score(client, fast_reload, customer).json()["results"][0]
        assert after["model_version"] == "1"
        assert after["churn_probability"] == before["churn_probability"]


@pytest.fixture()
def breakable_queue_database(postgres_url, serving_home, monkeypatch):
    """A PostgreSQL database of this test's own, whose connections can be refused and allowed."""
    name = f"cg_faults_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = sqlalchemy.make_url(postgres_url).set(database=name)
    monkeypatch.setenv("CHURNGUARD_DATABASE_URL", url.render_as_string(hide_password=False))

    def allow(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.execute(
                sqlalchemy.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            )
            if not allowed:
                connection.execute(
                    sqlalchemy.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    yield allow
    allow(True)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_queue_database_unreachable_is_503_and_recovers_by_itself(
    breakable_queue_database, queued_team, api
):
    headers = {"Authorization": f"Bearer {api.outreach_key}"}
    listed = api.client.get(f"/queue/{queued_team}", headers=headers)
    assert listed.status_code == 200 and listed.json()["items"]
    item_id = listed.json()["items"][0]["id"]

    breakable_queue_database(False)
    calls = [
        ("GET", f"/queue/{queued_team}", None),
        ("POST", f"/queue/{queued_team}/claim", {"n": 1}),
        ("POST", f"/queue/items/{item_id}/outcome", {"state": "contacted"}),
        ("GET", f"/queue/{queued_team}/export.csv", None),
    ]
    for method, path, body in calls:
        response = api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert response.json()["error"] == (
            "the queue database is unavailable; retry in a few seconds"
        )
        assert response.headers["retry-after"] == "5"

    breakable_queue_database(True)
    assert api.client.get(f"/queue/{queued_team}", headers=headers).status_code == 200
    claimed = api.client.post(f"/queue/{queued_team}/claim", json={"n": 1}, headers=headers)
    assert claimed.status_code == 200 and len(claimed.json()["items"]) == 1
