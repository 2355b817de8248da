"""A real (small) champion for the serving tests: the small shop -> features -> LightGBM -> a tmp
MLflow registry, plus a published snapshot. Built once per session; each test gets its own copy of
the registry database so it can move the alias without disturbing others."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

# BentoML's metrics run in Prometheus multiprocess mode, which needs this folder before the first
# metric exists (bentoml serve sets it itself; the in-process ASGI tests must).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="cg-prom-"))


@dataclass(frozen=True)
class ServingWorld:
    """What the session built: the registry (two versions, v1 champion) and the snapshot."""

    root: Path
    tracking_db: Path
    artifacts: Path
    snapshot_frame: object  # pandas DataFrame: customer_id, as_of, FEATURE_NAMES
    training_frame: object  # pandas DataFrame: customer_id, cutoff, churned, FEATURE_NAMES
    as_of: date
    customer_ids: tuple[str, ...]


def _train(frame, seed: int, rounds: int):
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
    from training.fit import FitConfig, fit_scorer

    cutoffs = sorted(frame["cutoff"].unique())
    fit = frame[frame["cutoff"].isin(cutoffs[:-1])]
    valid = frame[frame["cutoff"] == cutoffs[-1]]
    scorer, _ = fit_scorer(
        fit,
        valid,
        valid,
        FEATURE_NAMES,
        FEATURE_CATALOGUE_VERSION,
        90,
        FitConfig(num_boost_round=rounds, seed=seed, early_stopping_rounds=rounds),
    )
    return scorer, valid


@pytest.fixture(scope="session")
def serving_world(small_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> ServingWorld:
    import mlflow

    from common.names import CHAMPION_ALIAS, MODEL_NAME
    from common.settings import Settings
    from features.ingest import ingest
    from features.snapshot import build_snapshot, build_training_set, last_order_day
    from features.warehouse import connect
    from models.pyfunc import log_scorer
    from training.split import training_cutoffs

    root = tmp_path_factory.mktemp("serving_world")
    settings = Settings(home=root)
    ingest(small_shop, settings=settings, progress=None, data_docs=False)
    con = connect(settings.warehouse_path)
    try:
        cutoffs = training_cutoffs(con, 90, every_days=60)
        frame = build_training_set(con, cutoffs, horizon_days=90)
        as_of = last_order_day(con)
        snapshot = build_snapshot(con, as_of)
    finally:
        con.close()

    tracking_db = root / "mlflow.db"
    artifacts = root / "mlflow-artifacts"
    uri = f"sqlite:///{tracking_db}"
    from common.mlflow_service import MlflowService

    with MlflowService(uri).started():
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.create_experiment("serving-tests", artifact_location=artifacts.as_uri())
        for seed, rounds in ((0, 40), (1, 15)):
            scorer, example = _train(frame, seed, rounds)
            with mlflow.start_run(experiment_id=experiment):
                log_scorer(scorer, example, registered_model_name=MODEL_NAME)
        client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, "1")
    return ServingWorld(
        root=root,
        tracking_db=tracking_db,
        artifacts=artifacts,
        snapshot_frame=snapshot,
        training_frame=frame,
        as_of=as_of.date(),
        customer_ids=tuple(snapshot["customer_id"].astype(str)),
    )


@pytest.fixture()
def serving_home(
    serving_world: ServingWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """CHURNGUARD_HOME with a private copy of the registry (v1 champion, v2 not) and the snapshot
    published; MLflow pointed at it through the environment, as the service reads it."""
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
    from features.publish import publish_snapshot

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(serving_world.tracking_db, home / "mlflow.db")
    monkeypatch.setenv("CHURNGUARD_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CHURNGUARD_MODEL_URI", raising=False)
    monkeypatch.delenv("CHURNGUARD_API_KEYS", raising=False)
    publish_snapshot(
        serving_world.snapshot_frame,
        home / "snapshots",
        serving_world.as_of,
        FEATURE_NAMES,
        FEATURE_CATALOGUE_VERSION,
    )
    return home


@pytest.fixture(scope="session")
def champion(serving_world: ServingWorld):
    """The registered v1 as serving loads it (through the registry, not a file path)."""
    from serving.registry import RegistrySource

    return RegistrySource(
        "models:/churnguard@champion", f"sqlite:///{serving_world.tracking_db}"
    ).load("1")


@pytest.fixture(scope="session")
def loaded(serving_world: ServingWorld, champion, tmp_path_factory: pytest.TempPathFactory):
    """v1 with the published snapshot, as a request sees it."""
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
    from features.publish import latest_pointer, load_published_snapshot, publish_snapshot
    from serving.state import assemble, pointer_stamp

    folder = tmp_path_factory.mktemp("published")
    publish_snapshot(
        serving_world.snapshot_frame,
        folder,
        serving_world.as_of,
        FEATURE_NAMES,
        FEATURE_CATALOGUE_VERSION,
    )
    return assemble(
        champion, "1", load_published_snapshot(folder), pointer_stamp(latest_pointer(folder))
    )


@pytest.fixture()
def serving_state(serving_home: Path):
    """A ServingState over the test's own registry copy and snapshot folder, loaded once."""
    from common.settings import get_settings
    from serving.registry import RegistrySource
    from serving.state import ServingState

    settings = get_settings()
    state = ServingState(
        RegistrySource(settings.resolved_model_uri, settings.tracking_uri), settings.snapshots_dir
    )
    state.refresh()
    return state


@dataclass
class Api:
    """An httpx client on the service's ASGI app, and keys for each role."""

    client: object
    score_key: str
    outreach_key: str
    admin_key: str = ""

    def score(self, body, key: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {key or self.score_key}"}
        return self.client.post("/score", json=body, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def asgi_app():
    """The BentoML service's ASGI app, built once: BentoML registers its Prometheus metrics per app,
    so a second app in one process would collide. Each test's client runs its lifespan, which builds
    a fresh service instance from that test's environment."""
    from serving.service import ChurnService

    return ChurnService.to_asgi()


@pytest.fixture()
def api(serving_home: Path, asgi_app):
    """A client on the ASGI app with a fresh service instance and one key per role."""
    from starlette.testclient import TestClient

    from common.settings import get_settings
    from serving.keys import create_key

    path = get_settings().api_keys_path
    score_key, _ = create_key(path, "crm", "score")
    outreach_key, _ = create_key(path, "agents", "outreach")
    admin_key, _ = create_key(path, "ops", "admin")
    with TestClient(asgi_app, raise_server_exceptions=False) as client:
        yield Api(client, score_key, outreach_key, admin_key)


@pytest.fixture()
def queued_team(serving_home: Path, loaded, serving_world: ServingWorld) -> str:
    """The outreach queues of the day after the data ends (as `churnguard daily` builds them, not
    today's date) from the champion's scores; returns the team with most items."""
    from datetime import timedelta

    import pandas as pd

    from common.settings import get_settings
    from outreach.daily import build_daily_queues
    from outreach.store import open_store
    from serving.schemas import CustomerToScore
    from serving.scoring import score_request

    ids = list(serving_world.customer_ids)
    response, _ = score_request([CustomerToScore(customer_id=i) for i in ids], loaded)
    snapshot = serving_world.snapshot_frame.set_index("customer_id").loc[ids]
    scored = pd.DataFrame(
        {
            "customer_id": ids,
            "churn_probability": [r.churn_probability for r in response.results],
            "reasons": [[reason.model_dump() for reason in r.reasons] for r in response.results],
            "orders_365d": snapshot["orders_365d"].fillna(0).to_numpy(),
            "avg_order_value": snapshot["avg_order_value"].fillna(0).to_numpy(),
            "tenure_days": snapshot["days_since_first_order"].fillna(0).to_numpy(),
        }
    )
    store = open_store(get_settings().queue_database_url)
    try:
        queue_day = serving_world.as_of + timedelta(days=1)
        report = build_daily_queues(store, scored, None, queue_day, model_version="1")
    finally:
        store.close()
    assert report.queued > 0, report
    return max(report.queued_by_team, key=report.queued_by_team.get)
