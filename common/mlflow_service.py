"""The one owner of MLflow's process state: a service object for one store that hands out clients
and, for the fluent API (runs, log_model, load_model), points the process at the store for one job.

MLflow 3's `set_tracking_uri` also exports MLFLOW_TRACKING_URI (which churnguard's Settings read), and
model loading consults the process-wide tracking and registry URIs whatever it is passed (left alone
it creates ./mlflow.db). `started()` sets both and puts back the globals and the environment after,
so the next job in the same process (another CHURNGUARD_HOME, a test, a server) is not silently
pointed at this store. Named so it does not shadow `mlflow`; it imports nothing of churnguard.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import mlflow

_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@dataclass(frozen=True)
class MlflowService:
    """MLflow for one store (a tracking URI that is also the registry URI)."""

    tracking_uri: str

    def client(self) -> mlflow.MlflowClient:
        """A client with explicit URIs: no process state is read or changed."""
        return mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @contextmanager
    def started(self) -> Iterator[mlflow.MlflowClient]:
        """Point MLflow's fluent API at this store for one job, then restore what was there."""
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        saved_env = {name: os.environ.get(name) for name in _URI_VARIABLES}
        saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        try:
            yield self.client()
        finally:
            tracking_utils.set_tracking_uri(saved[0])
            registry_utils._registry_uri = saved[1]
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
