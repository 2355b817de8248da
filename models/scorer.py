"""ChurnScorer: the booster, its calibrator, the feature schema and the reason catalogue in one object.

The same object scores the held-out set at training time, the whole base in batch and one customer
online. Saved as plain files (LightGBM text model + JSON), never as a pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.bands import RiskBands
from models.calibration import Calibrator, sigmoid
from models.prior import FREQUENCY, PRIOR_FEATURES, RECENCY, Prior, prior_from_dict
from models.reasons import REASON_CATALOGUE_VERSION, Reason, fact_of, reason_for

BOOSTER_FILE = "booster.txt"
SCORER_FILE = "scorer.json"
REFERENCE_GRID = np.linspace(0.0, 100.0, 1001)
# Below this many rows one thread is faster: OpenMP start-up costs milliseconds, a row microseconds.
SINGLE_THREAD_MAX_ROWS = 512


class FeatureSchemaError(ValueError):
    """The input does not carry the features the model was trained on."""


@dataclass
class ChurnScorer:
    """A calibrated churn model that can say why: see `predict_proba`, `explain`, `score_frame`."""

    booster: lgb.Booster | None  # None: a baseline rule (the prior alone) is the model
    calibrator: Calibrator
    feature_names: tuple[str, ...]
    feature_schema_version: str
    horizon_days: int
    reference_quantiles: (
        np.ndarray
    )  # calibrated scores of the reference population at REFERENCE_GRID
    prior: Prior | None = None  # the trees boost from a baseline's log-odds when set
    reason_catalogue_version: str = REASON_CATALOGUE_VERSION
    metadata: dict[str, object] = field(default_factory=dict)
    # Not part of the artifact: the bands are the user's thresholds, read where the model is used.
    bands: RiskBands = field(default_factory=RiskBands.configured)

    def __post_init__(self) -> None:
        self._prior_index: tuple[int, int, int] | None = None
        if self.prior is not None:
            missing = [f for f in PRIOR_FEATURES if f not in self.feature_names]
            if missing:
                raise FeatureSchemaError(f"the BG/NBD prior needs features {missing}")
            r, t, o = (self.feature_names.index(f) for f in PRIOR_FEATURES)
            self._prior_index = (r, t, o)

    # --- building -------------------------------------------------------------------------------

    @classmethod
    def from_reference(
        cls,
        booster: lgb.Booster | None,
        calibrator: Calibrator,
        feature_names: Sequence[str],
        feature_schema_version: str,
        horizon_days: int,
        reference_scores: np.ndarray,
        metadata: dict[str, object] | None = None,
        prior: Prior | None = None,
    ) -> ChurnScorer:
        """Fix percentiles from the calibrated scores of a reference population."""
        reference_scores = np.asarray(reference_scores, dtype=np.float64)
        if reference_scores.size == 0:
            raise ValueError(
                "a reference population of at least one score is needed for percentiles"
            )
        quantiles = np.quantile(reference_scores, REFERENCE_GRID / 100.0)
        return cls(
            booster=booster,
            calibrator=calibrator,
            feature_names=tuple(feature_names),
            feature_schema_version=feature_schema_version,
            horizon_days=int(horizon_days),
            reference_quantiles=quantiles,
            prior=prior,
            metadata=dict(metadata or {}),
        )

    # --- scoring --------------------------------------------------------------------------------

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's input matrix from a frame holding (at least) every feature column, by name."""
        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing:
            raise FeatureSchemaError(
                f"input lacks {len(missing)} of the model's features {missing[:5]}; the model expects "
                f"feature schema {self.feature_schema_version} with columns {list(self.feature_names)}"
            )
        return np.ascontiguousarray(frame[list(self.feature_names)].to_numpy(dtype=np.float64))

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.shape[1] != len(self.feature_names):
            raise FeatureSchemaError(
                f"input has {X.shape[1]} columns, the model expects {len(self.feature_names)}: "
                f"{list(self.feature_names)}"
            )
        return X

    @staticmethod
    def _threads(rows: int) -> int:
        return 1 if rows <= SINGLE_THREAD_MAX_ROWS else 0

    def prior_margin(self, X: np.ndarray) -> np.ndarray | float:
        """The BG/NBD log-odds the trees start from (0 without a prior)."""
        if self.prior is None or self._prior_index is None:
            return 0.0
        return self.prior.margin(X, self._prior_index)

    def predict_raw(self, X: np.ndarray) -> np.ndarray:
        """The uncalibrated probability: sigmoid(BG/NBD prior + trees)."""
        X = self._check(X)
        return sigmoid(self._tree_margin(X) + self.prior_margin(X))

    @property
    def kind(self) -> str:
        """ "trees", or the baseline rule that is the model ("bgnbd", "recency")."""
        if self.booster is not None:
            return "trees"
        return (
            "recency"
            if self.prior is not None and self.prior.to_dict()["kind"] == "recency"
            else "bgnbd"
        )

    def _tree_margin(self, X: np.ndarray) -> np.ndarray | float:
        if self.booster is None:
            return 0.0
        return self.booster.predict(X, raw_score=True, num_threads=self._threads(len(X)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated P(no order within horizon_days) per row of X (columns in `feature_names` order)."""
        return self.calibrator.apply(self.predict_raw(X))

    def percentile(self, probabilities: np.ndarray) -> np.ndarray:
        """Share (0-100) of the reference population with a lower calibrated risk."""
        # np.interp needs increasing x: a run of equal quantiles (tied scores) keeps its first point,
        # so a customer tied with many others is placed below all of them.
        unique, first = np.unique(self.reference_quantiles, return_index=True)
        return np.interp(np.asarray(probabilities, dtype=np.float64), unique, REFERENCE_GRID[first])

    def risk_band(self, probabilities: np.ndarray) -> np.ndarray:
        """low / medium / high by the configured thresholds on the calibrated probability."""
        return self.bands.of(probabilities)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Log-odds contributions (rows, features + 1; the last column the base value): TreeSHAP for
        the trees, plus the BG/NBD prior's departure from a typical customer's, credited to
        days_since_last_order and orders_total by exact two-player Shapley values."""
        X = self._check(X)
        if self.booster is None:
            contrib = np.zeros((len(X), len(self.feature_names) + 1))
        else:
            contrib = self.booster.predict(X, pred_contrib=True, num_threads=self._threads(len(X)))
        if self.prior is not None and self._prior_index is not None:
            phi_recency, phi_orders = self.prior.attribution(X, self._prior_index)
            contrib[:, self.feature_names.index(RECENCY)] += phi_recency
            contrib[:, self.feature_names.index(FREQUENCY)] += phi_orders
            contrib[:, -1] += self.prior_margin(X) - phi_recency - phi_orders
        return contrib

    def explain(
        self, X: np.ndarray, top_k: int = 3, contributions: np.ndarray | None = None
    ) -> list[list[Reason]]:
        """Per row, up to `top_k` reasons: the features that raised this customer's risk the most and
        have a true sentence for the customer's values (one reason per fact, e.g. per code)."""
        X = self._check(X)
        contrib = self.contributions(X) if contributions is None else contributions
        names = self.feature_names
        explained: list[list[Reason]] = []
        for row, row_contrib in zip(X, contrib[:, :-1], strict=True):
            order = np.argsort(-row_contrib)
            values = dict(zip(names, row.tolist(), strict=True))
            reasons: list[Reason] = []
            facts: set[str] = set()
            for j in order:
                if row_contrib[j] <= 0 or len(reasons) == top_k:
                    break
                fact = fact_of(names[j])
                if fact in facts:
                    continue
                reason = reason_for(names[j], values, row_contrib[j])
                if reason is not None:
                    reasons.append(reason)
                    facts.add(fact)
            explained.append(reasons)
        return explained

    def score_frame(
        self, frame: pd.DataFrame, reasons: bool = True, top_k: int = 3
    ) -> pd.DataFrame:
        """customer_id (when given), churn_probability, risk_band, percentile and, if asked, reasons
        (a list of Reason dicts per row) for every row of a frame of features."""
        X = self.matrix(frame)
        probability = self.predict_proba(X)
        out = pd.DataFrame(index=frame.index)
        if "customer_id" in frame.columns:
            out["customer_id"] = frame["customer_id"].to_numpy()
        out["churn_probability"] = probability
        out["risk_band"] = self.risk_band(probability)
        out["percentile"] = self.percentile(probability)
        if reasons:
            out["reasons"] = [
                [reason.to_dict() for reason in row] for row in self.explain(X, top_k=top_k)
            ]
        return out

    # --- files ----------------------------------------------------------------------------------

    def save(self, folder: Path | str) -> Path:
        """Write the booster (LightGBM text format) and everything else (JSON) into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.booster is not None:
            self.booster.save_model(str(folder / BOOSTER_FILE))
        description = {
            "calibrator": self.calibrator.to_dict(),
            "feature_names": list(self.feature_names),
            "feature_schema_version": self.feature_schema_version,
            "horizon_days": self.horizon_days,
            "reference_quantiles": self.reference_quantiles.tolist(),
            "prior": None if self.prior is None else self.prior.to_dict(),
            "reason_catalogue_version": self.reason_catalogue_version,
            "metadata": self.metadata,
        }
        (folder / SCORER_FILE).write_text(json.dumps(description, indent=1, default=str))
        return folder

    @classmethod
    def load(cls, folder: Path | str) -> ChurnScorer:
        folder = Path(folder)
        description = json.loads((folder / SCORER_FILE).read_text())
        booster = (
            lgb.Booster(model_file=str(folder / BOOSTER_FILE))
            if (folder / BOOSTER_FILE).exists()
            else None
        )
        if booster is not None and booster.num_feature() != len(description["feature_names"]):
            raise FeatureSchemaError(
                f"{folder / BOOSTER_FILE} has {booster.num_feature()} features but {SCORER_FILE} "
                f"names {len(description['feature_names'])}"
            )
        return cls(
            booster=booster,
            calibrator=Calibrator.from_dict(description["calibrator"]),
            feature_names=tuple(description["feature_names"]),
            feature_schema_version=description["feature_schema_version"],
            horizon_days=int(description["horizon_days"]),
            reference_quantiles=np.asarray(description["reference_quantiles"], dtype=np.float64),
            prior=None
            if description.get("prior") is None
            else prior_from_dict(description["prior"]),
            reason_catalogue_version=description["reason_catalogue_version"],
            metadata=description.get("metadata", {}),
        )
