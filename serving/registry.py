"""The champion as the registry names it: a cheap alias check each interval, a full load on change."""

from __future__ import annotations

import mlflow

from common.mlflow_service import MlflowService
from models.pyfunc import load_scorer, parse_model_uri, resolve_model_version
from models.scorer import ChurnScorer


class RegistrySource:
    """A `models:/NAME@ALIAS` (or `models:/NAME/VERSION`) URI in the MLflow registry at `tracking_uri`."""

    def __init__(self, uri: str, tracking_uri: str) -> None:
        self.uri = uri
        self.tracking_uri = tracking_uri
        self.name, _alias, _version = parse_model_uri(uri)
        self._client: mlflow.MlflowClient | None = None

    @property
    def client(self) -> mlflow.MlflowClient:
        """Made on first use, not at start: a store that cannot be opened (unreachable, corrupt)
        is a reload that fails and is retried, not a service that fails to start."""
        if self._client is None:
            self._client = MlflowService(self.tracking_uri).client()
        return self._client

    def current_version(self) -> str:
        return str(resolve_model_version(self.client, self.uri).version)

    def load(self, version: str) -> ChurnScorer:
        # Load the version just resolved, not the alias: the alias may move between the two calls.
        with MlflowService(self.tracking_uri).started():
            scorer, _registered = load_scorer(f"models:/{self.name}/{version}", self.tracking_uri)
        return scorer
