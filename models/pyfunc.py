"""The MLflow face of ChurnScorer: a pyfunc to log and register, and `load_scorer` to get it back.

Serving and batch scoring call `load_scorer("models:/churnguard@champion")` and keep the plain
ChurnScorer it returns: the pyfunc's pandas `predict` is for MLflow tools, not the online path.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from common.mlflow_service import MlflowService
from common.names import CHAMPION_ALIAS, MODEL_NAME
from models.probe import ModelUnusable, probe_scorer_files, scorer_folder
from models.scorer import ChurnScorer

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models.model import ModelInfo

SCORER_ARTIFACT = "scorer"
OUTPUT_COLUMNS = ("churn_probability", "risk_band", "percentile", "reasons")


class NoChampionError(LookupError):
    """The registry has no model behind the requested alias (or no model at all)."""


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """Builds the ChurnScorer from its logged files; `predict` scores a DataFrame of features."""

    scorer: ChurnScorer

    def load_context(self, context: Any) -> None:
        self.scorer = ChurnScorer.load(context.artifacts[SCORER_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        """Columns churn_probability, risk_band, percentile and reasons (a JSON list per row);
        params {"reasons": false} skips the explanation, {"top_k": n} changes how many."""
        params = params or {}
        scored = self.scorer.score_frame(
            pd.DataFrame(model_input),
            reasons=bool(params.get("reasons", True)),
            top_k=int(params.get("top_k", 3)),
        )
        if "reasons" in scored.columns:
            scored["reasons"] = [json.dumps(r) for r in scored["reasons"]]
        else:
            scored["reasons"] = "[]"
        return scored.drop(columns=["customer_id"], errors="ignore").reset_index(drop=True)


def signature_for(scorer: ChurnScorer) -> ModelSignature:
    """Features as doubles (NaN = missing, as the catalogue defines); customer_id optional."""
    from mlflow.types.schema import ParamSchema, ParamSpec

    inputs = Schema(
        [ColSpec("string", "customer_id", required=False)]
        + [ColSpec("double", name) for name in scorer.feature_names]
    )
    outputs = Schema(
        [
            ColSpec("double", "churn_probability"),
            ColSpec("string", "risk_band"),
            ColSpec("double", "percentile"),
            ColSpec("string", "reasons"),
        ]
    )
    params = ParamSchema([ParamSpec("reasons", "boolean", True), ParamSpec("top_k", "long", 3)])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _requirements() -> list[str]:
    """Pinned from the running environment: faster and more exact than MLflow's import sniffing."""
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("mlflow", "lightgbm", "numpy", "pandas", "scikit-learn")
    ]


def log_scorer(
    scorer: ChurnScorer,
    input_example: pd.DataFrame,
    registered_model_name: str | None = MODEL_NAME,
    name: str = "model",
) -> ModelInfo:
    """Log the scorer as a pyfunc in the active run (and register it under `registered_model_name`)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = scorer.save(Path(tmp) / SCORER_ARTIFACT)
        example = input_example[list(scorer.feature_names)].head(5).astype(np.float64)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=ChurnPyfunc(),
            artifacts={SCORER_ARTIFACT: str(folder)},
            signature=signature_for(scorer),
            input_example=example,
            registered_model_name=registered_model_name,
            pip_requirements=_requirements(),
            metadata={
                "feature_schema_version": scorer.feature_schema_version,
                "reason_catalogue_version": scorer.reason_catalogue_version,
                "horizon_days": scorer.horizon_days,
            },
        )


def parse_model_uri(model_uri: str) -> tuple[str, str | None, str | None]:
    """`models:/NAME@ALIAS` -> (NAME, ALIAS, None); `models:/NAME/VERSION` -> (NAME, None, VERSION)."""
    if not model_uri.startswith("models:/"):
        raise ValueError(
            f"model URI {model_uri!r} is not a registry URI; expected models:/{MODEL_NAME}@{CHAMPION_ALIAS} "
            f"or models:/{MODEL_NAME}/<version>"
        )
    rest = model_uri.removeprefix("models:/").strip("/")
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return name, alias, None
    if "/" in rest:
        name, version = rest.split("/", 1)
        return name, None, version
    raise ValueError(f"model URI {model_uri!r} names no alias or version (models:/NAME@ALIAS)")


def resolve_model_version(client: mlflow.MlflowClient, model_uri: str) -> ModelVersion:
    """The registry entry a `models:/` URI points at, or NoChampionError saying what to run."""
    from mlflow.exceptions import MlflowException

    name, alias, version = parse_model_uri(model_uri)
    try:
        if alias is not None:
            return client.get_model_version_by_alias(name, alias)
        return client.get_model_version(name, version)
    except MlflowException as error:
        try:
            versions = client.search_model_versions(f"name = '{name}'")
        except MlflowException:
            versions = []
        if not versions:
            raise NoChampionError(
                f"no model registered as {name!r}: run `churnguard train` (it registers every run "
                f"and makes the first one that passes the gate the {CHAMPION_ALIAS})"
            ) from error
        latest = max(int(v.version) for v in versions)
        if alias is not None:
            raise NoChampionError(
                f"model {name!r} has no alias {alias!r} (latest version {latest}): run "
                f"`churnguard promote {latest}` or `churnguard train --promote`, or pass "
                f"--model models:/{name}/{latest}"
            ) from error
        raise NoChampionError(
            f"model {name!r} has no version {version} (latest is {latest})"
        ) from error


def _artifact_uri(client: mlflow.MlflowClient, version: ModelVersion) -> str:
    """Where a version's files are, without going through the global registry URI: MLflow 3 records
    the logged model (`models:/m-...`) as the source; its artifact location is a plain URI."""
    source = version.source or ""
    model_id = version.model_id or (
        source.removeprefix("models:/") if source.startswith("models:/m-") else None
    )
    if model_id:
        return client.get_logged_model(model_id).artifact_location
    return source


def resolve_or_latest(
    client: mlflow.MlflowClient, model_uri: str, fallback_to_latest: bool
) -> ModelVersion:
    """`resolve_model_version`, or, with `fallback_to_latest`, the latest version when the URI's
    alias is missing but versions exist (a batch job on a registry nobody has promoted in yet)."""
    try:
        return resolve_model_version(client, model_uri)
    except NoChampionError:
        name, alias, _ = parse_model_uri(model_uri)
        versions = client.search_model_versions(f"name = '{name}'") if alias else []
        if not (fallback_to_latest and versions):
            raise
        return max(versions, key=lambda v: int(v.version))


def load_scorer(
    model_uri: str | None = None,
    tracking_uri: str | None = None,
    fallback_to_latest: bool = False,
) -> tuple[ChurnScorer, ModelVersion]:
    """Resolve a registry URI (default: settings' model, i.e. models:/churnguard@champion), load the
    pyfunc and unwrap it to the fast ChurnScorer; also return the registry's ModelVersion.

    `fallback_to_latest`: when the alias is missing but versions exist, use the latest version
    (batch scoring before any model passed the gate); the caller should say so.

    The files are proven in a child process first (`models.probe`): a damaged version raises
    ModelUnusable with the reason instead of aborting this process."""
    from common.settings import get_settings

    settings = get_settings()
    model_uri = model_uri or settings.resolved_model_uri
    tracking_uri = tracking_uri or settings.tracking_uri
    client = MlflowService(tracking_uri).client()
    version = resolve_or_latest(client, model_uri, fallback_to_latest)
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=_artifact_uri(client, version), dst_path=tmp, tracking_uri=tracking_uri
            )
            probe_scorer_files(scorer_folder(Path(local)))
        except (MlflowException, OSError) as error:
            raise ModelUnusable(
                f"{version.name} v{version.version}: its files cannot be fetched "
                f"({str(error).splitlines()[0] if str(error) else type(error).__name__})"
            ) from None
        except ModelUnusable as error:
            raise ModelUnusable(f"{version.name} v{version.version}: {error}") from None
        pyfunc = mlflow.pyfunc.load_model(local)
        scorer = pyfunc.unwrap_python_model().scorer
    return scorer, version
