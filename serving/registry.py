"""The champion as the registry names it: a cheap alias check each interval, a full load on change."""

from __future__ import annotations

import mlflow

from models.pyfunc import load_scorer, parse_model_uri, resolve_model_version
from models.scorer import ChurnScorer


class RegistrySource:
    """A `models:/NAME@ALIAS` (or `models:/NAME/VERSION`) URI in the MLflow registry at `tracking_uri`."""

    def __init__(self, uri: str, tracking_uri: str) -> None:
        self.uri = uri
        self.tracking_uri = tracking_uri
        self.name, _alias, _version = parse_model_uri(uri)
        self._client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def current_version(self) -> str:
        return str(resolve_model_version(self._client, self.uri).version)

    def load(self, version: str) -> ChurnScorer:
        # MLflow's artifact download resolves `models:/` through the process-wide registry URI
        # whatever it is passed, so point it at ours (this process serves one registry).
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        # Load the version just resolved, not the alias: the alias may move between the two calls.
        scorer, _registered = load_scorer(f"models:/{self.name}/{version}", self.tracking_uri)
        return scorer
