"""The uplift model both sides share: per playbook, how much a contact lowers a customer's churn
probability over the horizon, learned from treated against control contacts (a T-learner: one
LightGBM model of churn without contact, one per playbook with it; uplift = the difference).

Logged as its own MLflow pyfunc under `common.names.UPLIFT_MODEL_NAME`; the daily job loads it with
`load_uplift` only when its `champion` alias exists (it passed its gate).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

from common.mlflow_service import MlflowService
from common.names import UPLIFT_CHAMPION_URI, UPLIFT_MODEL_NAME
from models.pyfunc import _artifact_uri, _requirements, resolve_model_version

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models.model import ModelInfo

UPLIFT_ARTIFACT = "uplift"
UPLIFT_PREFIX = "uplift_"


@dataclass
class UpliftModel:
    """Boosters as LightGBM model text: `control` predicts churn without contact, `treated[p]` churn
    after a contact with playbook p, both from the same catalogue features."""

    feature_names: list[str]
    control: str
    treated: dict[str, str]
    horizon_days: int
    metadata: dict[str, Any] = field(default_factory=dict)
    _boosters: dict[str, lgb.Booster] = field(default_factory=dict, repr=False)

    @property
    def playbooks(self) -> list[str]:
        return sorted(self.treated)

    def _booster(self, key: str) -> lgb.Booster:
        if key not in self._boosters:
            text = self.control if key == "" else self.treated[key]
            self._boosters[key] = lgb.Booster(model_str=text)
        return self._boosters[key]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing:
            raise ValueError(f"uplift model: the frame lacks features {missing[:5]}")
        return frame[self.feature_names].to_numpy(dtype=np.float64)

    def churn_without_contact(self, frame: pd.DataFrame) -> np.ndarray:
        return self._booster("").predict(self.matrix(frame))

    def predict_uplift(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One column per playbook: predicted drop in churn probability if contacted with it."""
        matrix = self.matrix(frame)
        base = self._booster("").predict(matrix)
        return pd.DataFrame(
            {p: base - self._booster(p).predict(matrix) for p in self.playbooks},
            index=frame.index,
        )

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "control.txt").write_text(self.control)
        for playbook, text in self.treated.items():
            (folder / f"treated_{playbook}.txt").write_text(text)
        spec = {
            "feature_names": self.feature_names,
            "playbooks": self.playbooks,
            "horizon_days": self.horizon_days,
            "metadata": self.metadata,
        }
        (folder / "uplift.json").write_text(json.dumps(spec, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, folder: Path | str) -> UpliftModel:
        folder = Path(folder)
        spec = json.loads((folder / "uplift.json").read_text())
        return cls(
            feature_names=spec["feature_names"],
            control=(folder / "control.txt").read_text(),
            treated={p: (folder / f"treated_{p}.txt").read_text() for p in spec["playbooks"]},
            horizon_days=spec["horizon_days"],
            metadata=spec.get("metadata", {}),
        )


class UpliftPyfunc(mlflow.pyfunc.PythonModel):
    """Builds the UpliftModel from its logged files; `predict` gives uplift_<playbook> columns."""

    model: UpliftModel

    def load_context(self, context: Any) -> None:
        self.model = UpliftModel.load(context.artifacts[UPLIFT_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        uplift = self.model.predict_uplift(pd.DataFrame(model_input))
        return uplift.add_prefix(UPLIFT_PREFIX).reset_index(drop=True)


def log_uplift(
    model: UpliftModel, input_example: pd.DataFrame, registered_model_name: str = UPLIFT_MODEL_NAME
) -> ModelInfo:
    """Log the uplift model as a pyfunc in the active run and register it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / UPLIFT_ARTIFACT)
        example = input_example[model.feature_names].head(5).astype(np.float64)
        return mlflow.pyfunc.log_model(
            name="uplift",
            python_model=UpliftPyfunc(),
            artifacts={UPLIFT_ARTIFACT: str(folder)},
            input_example=example,
            registered_model_name=registered_model_name,
            pip_requirements=_requirements(),
            metadata={"horizon_days": model.horizon_days, "playbooks": model.playbooks},
        )


def load_uplift(
    tracking_uri: str, model_uri: str = UPLIFT_CHAMPION_URI
) -> tuple[UpliftModel, ModelVersion]:
    """The uplift champion (NoChampionError when none passed its gate)."""
    client = MlflowService(tracking_uri).client()
    version = resolve_model_version(client, model_uri)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=_artifact_uri(client, version), dst_path=tmp, tracking_uri=tracking_uri
        )
        model = mlflow.pyfunc.load_model(local).unwrap_python_model().model
    return model, version
