"""The registry side of training: the tracking store, the experiment, and the gated `champion` alias.

The gate (`decide`) is a pure function. A candidate becomes champion only if, on the candidate's own
held-out set (logged with its run), it beats both baselines on ROC-AUC and is not worse than the
current champion re-scored on that same set beyond a tolerance (ROC-AUC and log loss).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from common.mlflow_service import MlflowService
from common.names import CHAMPION_ALIAS, MODEL_NAME
from common.settings import Settings
from models.probe import ModelUnusable
from models.pyfunc import load_scorer
from models.scorer import FeatureSchemaError
from training.metrics import log_loss, roc_auc

HELDOUT_ARTIFACT_DIR = "heldout"
HELDOUT_FILE = "heldout.parquet"


# --- the store ------------------------------------------------------------------------------------


def tracking_client(settings: Settings) -> MlflowClient:
    """A client on churnguard's store (explicit URIs, no global state); called by jobs."""
    settings.ensure_home()
    return MlflowService(settings.tracking_uri).client()


@contextmanager
def mlflow_store(settings: Settings) -> Iterator[MlflowClient]:
    """MLflow's fluent API pointed at churnguard's store for one job (`MlflowService.started`)."""
    settings.ensure_home()
    with MlflowService(settings.tracking_uri).started() as client:
        yield client


def ensure_experiment(client: MlflowClient, name: str, settings: Settings) -> str:
    """The experiment's id; a new one stores its artifacts under CHURNGUARD_HOME/mlflow-artifacts."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = (settings.mlflow_artifacts_dir / name).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


# --- the gate (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateTolerance:
    """How much worse than the champion a candidate may be on the same held-out set."""

    roc_auc: float = 0.005
    log_loss: float = 0.01


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: tuple[str, ...]
    checks: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        verdict = "passed" if self.passed else "refused"
        return f"gate {verdict}: " + "; ".join(self.reasons)


def decide(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    tolerance: GateTolerance = GateTolerance(),
    rule: str | None = None,
) -> GateDecision:
    """`candidate`: roc_auc, log_loss, baseline_recency_roc_auc, baseline_bgnbd_roc_auc on its
    held-out set (and `honest_roc_auc`, the evaluated model's, which the baselines are compared
    with: the registered refit has seen the held-out cutoff); `champion`: roc_auc and log_loss of
    the champion re-scored on that same set. `rule`: the candidate is that baseline itself, chosen
    by the run's backtests, so it is not asked to beat itself."""
    checks = {f"candidate_{k}": float(v) for k, v in candidate.items()}
    failures: list[str] = []
    notes: list[str] = []
    auc = float(candidate["roc_auc"])
    honest = float(candidate.get("honest_roc_auc", auc))
    if math.isnan(auc):
        failures.append(
            "the held-out set has a single outcome (everyone churned or no one did): ROC-AUC "
            "cannot be measured, so the model cannot be judged"
        )
    if rule is not None:
        notes.append(f"the {rule} baseline, chosen by the run's backtests")
    for baseline in () if rule is not None else ("recency", "bgnbd"):
        base = float(candidate[f"baseline_{baseline}_roc_auc"])
        if not math.isnan(honest) and not honest > base:
            failures.append(
                f"ROC-AUC {honest:.4f} does not beat the {baseline} baseline ({base:.4f})"
            )
        elif not math.isnan(honest):
            notes.append(f"beats {baseline} ({honest:.4f} > {base:.4f})")
    if champion is not None:
        checks.update({f"champion_{k}": float(v) for k, v in champion.items()})
        champion_auc, champion_loss = float(champion["roc_auc"]), float(champion["log_loss"])
        if not math.isnan(auc) and auc < champion_auc - tolerance.roc_auc:
            failures.append(
                f"ROC-AUC {auc:.4f} is worse than the champion's {champion_auc:.4f} on the same "
                f"held-out customers (tolerance {tolerance.roc_auc})"
            )
        loss = float(candidate["log_loss"])
        if loss > champion_loss + tolerance.log_loss:
            failures.append(
                f"log loss {loss:.4f} is worse than the champion's {champion_loss:.4f} "
                f"(tolerance {tolerance.log_loss})"
            )
        if not failures:
            notes.append(
                f"not worse than the champion (ROC-AUC {auc:.4f} vs {champion_auc:.4f}, "
                f"log loss {loss:.4f} vs {champion_loss:.4f})"
            )
    else:
        notes.append(f"no current {CHAMPION_ALIAS}")
    return GateDecision(passed=not failures, reasons=tuple(failures or notes), checks=checks)


# --- the registry (I/O) ---------------------------------------------------------------------------


def resolve_candidate(client: MlflowClient, reference: str | None) -> ModelVersion:
    """A model version from a version number, a run id, or (None) the latest registered version."""
    try:
        versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    except MlflowException:
        versions = []
    if not versions:
        raise LookupError(f"no model registered as {MODEL_NAME!r}: run `churnguard train` first")
    if reference is None:
        return max(versions, key=lambda v: int(v.version))
    for version in versions:
        if str(version.version) == reference.lstrip("v") or version.run_id == reference:
            return version
    known = ", ".join(sorted((str(v.version) for v in versions), key=int))
    raise LookupError(
        f"{reference!r} is neither a version of {MODEL_NAME!r} (known: {known}) nor the run id of one"
    )


def current_champion(client: MlflowClient) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    except MlflowException:
        return None


def held_out_set(client: MlflowClient, run_id: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, f"{HELDOUT_ARTIFACT_DIR}/{HELDOUT_FILE}", tmp)
        return pd.read_parquet(path)


def _score_on(uri: str, tracking_uri: str, frame: pd.DataFrame) -> dict[str, float]:
    scorer, _ = load_scorer(uri, tracking_uri=tracking_uri)
    p = scorer.predict_proba(scorer.matrix(frame))
    y = frame["churned"].to_numpy()
    return {"roc_auc": roc_auc(y, p), "log_loss": log_loss(y, p)}


def gate_candidate(
    client: MlflowClient,
    candidate: ModelVersion,
    settings: Settings,
    tolerance: GateTolerance = GateTolerance(),
) -> GateDecision:
    """Re-score candidate and champion on the candidate's held-out set and apply `decide`."""
    run = client.get_run(candidate.run_id)
    frame = held_out_set(client, candidate.run_id)
    try:
        candidate_scores = _score_on(
            f"models:/{MODEL_NAME}/{candidate.version}", settings.tracking_uri, frame
        )
    except ModelUnusable as error:
        return GateDecision(False, (f"the candidate cannot be loaded: {error}",))
    metrics = {
        **candidate_scores,
        "honest_roc_auc": run.data.metrics.get("heldout_roc_auc", candidate_scores["roc_auc"]),
        "baseline_recency_roc_auc": run.data.metrics.get("baseline_recency_roc_auc", np.nan),
        "baseline_bgnbd_roc_auc": run.data.metrics.get("baseline_bgnbd_roc_auc", np.nan),
    }
    kind = run.data.tags.get("model_kind", "trees")
    rule = kind if kind in ("bgnbd", "recency") else None
    champion = current_champion(client)
    champion_scores = None
    if champion is not None:
        try:
            champion_scores = _score_on(
                f"models:/{MODEL_NAME}/{champion.version}", settings.tracking_uri, frame
            )
        except (FeatureSchemaError, ModelUnusable) as error:
            # A champion that cannot be loaded loses the comparison; it must never block a fix.
            decision = decide(metrics, None, tolerance, rule)
            reason = (
                f"champion v{champion.version} cannot be re-scored on this held-out set ({error}); "
                "judged against the baselines only"
            )
            return GateDecision(decision.passed, (*decision.reasons, reason), decision.checks)
    return decide(metrics, champion_scores, tolerance, rule)


@dataclass(frozen=True)
class PromotionResult:
    version: str
    promoted: bool
    decision: GateDecision
    previous_champion: str | None

    def message(self) -> str:
        if self.promoted:
            was = f" (was v{self.previous_champion})" if self.previous_champion else ""
            return f"{MODEL_NAME} v{self.version} is now {CHAMPION_ALIAS}{was}. {self.decision.summary()}"
        return f"{MODEL_NAME} v{self.version} not promoted. {self.decision.summary()}"


def promote(
    client: MlflowClient,
    settings: Settings,
    reference: str | None = None,
    tolerance: GateTolerance = GateTolerance(),
) -> PromotionResult:
    """Move `champion` to the candidate if it passes the gate; record the decision on the version."""
    candidate = resolve_candidate(client, reference)
    champion = current_champion(client)
    if champion is not None and str(champion.version) == str(candidate.version):
        decision = GateDecision(True, (f"v{candidate.version} already is {CHAMPION_ALIAS}",))
        return PromotionResult(str(candidate.version), True, decision, str(champion.version))
    decision = gate_candidate(client, candidate, settings, tolerance)
    version = str(candidate.version)
    client.set_model_version_tag(MODEL_NAME, version, "gate_passed", str(decision.passed))
    client.set_model_version_tag(
        MODEL_NAME, version, "gate_reasons", "; ".join(decision.reasons)[:5000]
    )
    if decision.passed:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, str(candidate.version))
    return PromotionResult(
        str(candidate.version),
        decision.passed,
        decision,
        None if champion is None else str(champion.version),
    )


def write_held_out(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / HELDOUT_FILE
    frame.to_parquet(path, index=False)
    return path
