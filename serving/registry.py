"""The champion as the registry names it: a cheap alias check each interval, a full load on change."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow

from models.pyfunc import load_scorer, parse_model_uri, resolve_model_version
from models.scorer import ChurnScorer

_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


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
            self._client = mlflow.MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

    def current_version(self) -> str:
        return str(resolve_model_version(self.client, self.uri).version)

    def load(self, version: str) -> ChurnScorer:
        # Load the version just resolved, not the alias: the alias may move between the two calls.
        with _process_uris(self.tracking_uri):
            scorer, _registered = load_scorer(f"models:/{self.name}/{version}", self.tracking_uri)
        return scorer


@contextmanager
def _process_uris(uri: str) -> Iterator[None]:
    """MLflow's model loading consults the process-wide tracking/registry URIs whatever it is passed
    (left alone it creates ./mlflow.db): point them at our registry for the load, then put back both
    the globals and the environment variables MLflow sets as a side effect."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {name: os.environ.get(name) for name in _URI_ENV}
    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils.set_tracking_uri(saved[0])
        registry_utils._registry_uri = saved[1]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
