"""The pyfunc round-trips through MLflow: log, register, alias, load by alias, same predictions."""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
import pytest

from common.names import CHAMPION_ALIAS, CHAMPION_URI, MODEL_NAME
from common.settings import get_settings
from models.pyfunc import NoChampionError, load_scorer, log_scorer
from tests.models.conftest import customers
from training.registry import ensure_experiment, mlflow_store


@pytest.mark.slow
def test_logged_registered_and_loaded_by_alias_scores_the_same(scorer, churnguard_home):
    settings = get_settings()
    with mlflow_store(settings) as client:
        _round_trip(scorer, settings, client)
    assert "MLFLOW_TRACKING_URI" not in os.environ  # the job's store does not leak to the next


def _round_trip(scorer, settings, client):
    experiment_id = ensure_experiment(client, "test", settings)
    assert client.get_experiment(experiment_id).artifact_location.startswith(
        settings.mlflow_artifacts_dir.as_uri()
    )
    frame = customers(100, seed=11)
    with pytest.raises(NoChampionError, match="churnguard train"):
        load_scorer(CHAMPION_URI)
    with mlflow.start_run(experiment_id=experiment_id):
        info = log_scorer(scorer, input_example=frame)
    with pytest.raises(NoChampionError, match="churnguard promote 1"):
        load_scorer(CHAMPION_URI)
    client.set_registered_model_alias(
        MODEL_NAME, CHAMPION_ALIAS, str(info.registered_model_version)
    )

    loaded, version = load_scorer()  # default: settings' model URI, the champion
    assert str(version.version) == "1" and version.run_id
    np.testing.assert_allclose(
        loaded.predict_proba(loaded.matrix(frame)), scorer.predict_proba(scorer.matrix(frame))
    )
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}")
    predicted = pyfunc.predict(frame.drop(columns=["churned"]))
    np.testing.assert_allclose(
        predicted["churn_probability"], scorer.predict_proba(scorer.matrix(frame))
    )
    assert isinstance(json.loads(predicted["reasons"].iloc[0]), list)
    quiet = pyfunc.predict(frame.drop(columns=["churned"]), params={"reasons": False})
    assert (quiet["reasons"] == "[]").all()
