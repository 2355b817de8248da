"""The uplift model: learn from treated against control contacts how much a contact with each
playbook lowers a customer's churn, judge it on the latest campaigns, track it in MLflow under its
own name and let it drive the queues only through its own gate.

Pure steps (`fit_uplift`, `evaluate_uplift`, `decide_uplift`) over the contact training frame of
`features.contacts.contact_features`; `train_uplift` is the thin I/O job around them. Qini and
uplift@k come from scikit-uplift, not from hand-written code.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

from common.names import CHAMPION_ALIAS, UPLIFT_MODEL_NAME
from common.settings import Settings, get_settings
from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
from features.contacts import combine_history, contact_features, read_contacts
from features.value import snapshot_expected_value, value_at_risk
from features.warehouse import connect
from models.saving_terms import SAVING_TERMS, Coefficients, saving_terms
from models.uplift import UpliftModel, log_uplift
from training.registry import ensure_experiment, mlflow_store

log = logging.getLogger(__name__)

TREATED = "treated"
CONTROL = "control"


class UpliftDataError(ValueError):
    """Too little contact history to learn from: says how much there is and what is needed."""


@dataclass(frozen=True)
class UpliftConfig:
    """Knobs of the uplift fit and its gate."""

    min_treated_per_playbook: int = 150  # a playbook with fewer treated contacts gets no model
    min_control: int = 200
    held_out_share: float = 0.3  # the latest contact days holding this share are held out
    top_share: float = 0.2  # uplift@k's k: the share of customers the shop can contact
    num_leaves: int = 7
    min_data_in_leaf: int = 60
    learning_rate: float = 0.05
    rounds: int = 120
    seed: int = 0
    # The saving prior's weights are pulled back to playbooks.yaml's with this penalty per squared
    # unit of departure (in nats of log-likelihood over the shop's contacts): a few thousand
    # contacts move them only as far as the campaigns clearly say.
    prior_strength: float = 30.0
    # The fitted weights (a shrinkage estimate: playbooks.yaml's pulled as far as the campaigns
    # say) replace playbooks.yaml's if their held-out log-loss is lower by more than this many
    # standard errors of the per-contact difference; 0: lower at all.
    prior_margin_errors: float = 0.0
    # The terms whose weights the campaigns may move. "due" (a nudge to every customer not yet past
    # their usual order) stays as documented: it spans most contacts, so noise in the campaigns
    # read as a main effect of contact, and on the bench's shops the fitted due weights sent the
    # queue to customers still buying (top 400 holding 20-39% of the best possible instead of
    # 35-47%). With it held, the fitted prior ranks at least as well as the documented one there.
    fitted_terms: tuple[str, ...] = ("after_lapse", "after_delivery_problem", "after_complaint")

    def lgb_params(self) -> dict[str, object]:
        return {
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "learning_rate": self.learning_rate,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 5.0,
            "seed": self.seed,
            "num_threads": 1,
            "deterministic": True,
            "verbose": -1,
        }


@dataclass(frozen=True)
class UpliftMetrics:
    """On held-out contacts: Qini AUC and uplift@k of the model's ranking and of value at risk."""

    rows: int
    treated: int
    control: int
    qini_model: float
    qini_value_at_risk: float
    uplift_at_k_model: float
    uplift_at_k_value_at_risk: float
    top_share: float

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class UpliftGate:
    passed: bool
    reason: str


@dataclass
class UpliftResult:
    """What one uplift training did."""

    version: str | None
    metrics: UpliftMetrics
    gate: UpliftGate
    promoted: bool
    playbooks: list[str] = field(default_factory=list)
    rows: int = 0
    drives: str | None = None  # "t-learner", "saving prior" (fitted), or None
    saving_prior_note: str = ""

    def summary(self) -> str:
        m = self.metrics
        verdict = (
            f"its {self.drives} drives the queues" if self.promoted else "does not drive the queues"
        )
        return "\n".join(
            [
                f"uplift model {UPLIFT_MODEL_NAME} v{self.version}: {self.rows:,} contacts, "
                f"playbooks {', '.join(self.playbooks)}",
                f"  held-out campaigns ({m.rows:,} contacts): Qini {m.qini_model:.4f} vs value at "
                f"risk {m.qini_value_at_risk:.4f}; uplift@{m.top_share:.0%} {m.uplift_at_k_model:.4f} "
                f"vs {m.uplift_at_k_value_at_risk:.4f}",
                f"  T-learner gate {'passed' if self.gate.passed else 'refused'}: {self.gate.reason}",
                f"  {self.saving_prior_note}",
                f"  {verdict}",
            ]
        )


def usable_features(frame: pd.DataFrame) -> list[str]:
    """Catalogue features that vary among the contacts (a constant or empty one teaches nothing)."""
    names = []
    for name in FEATURE_NAMES:
        values = frame[name]
        if values.notna().any() and values.nunique(dropna=True) > 1:
            names.append(name)
    return names


def _booster(frame: pd.DataFrame, names: list[str], config: UpliftConfig) -> str:
    data = lgb.Dataset(
        frame[names].to_numpy(dtype=np.float64),
        label=frame["churned"].to_numpy(),
        free_raw_data=True,
    )
    return lgb.train(config.lgb_params(), data, num_boost_round=config.rounds).model_to_string()


def fit_uplift(
    frame: pd.DataFrame, names: list[str], horizon_days: int, config: UpliftConfig
) -> UpliftModel:
    """A T-learner: churn without contact from every control row, churn after a contact with each
    playbook that has at least `min_treated_per_playbook` treated rows."""
    control = frame[frame["group"] == CONTROL]
    if len(control) < config.min_control:
        raise UpliftDataError(
            f"{len(control)} control contacts with a finished horizon; the uplift model needs at "
            f"least {config.min_control} (hold out a control group in the campaigns)"
        )
    treated = frame[frame["group"] == TREATED]
    counts = treated["playbook"].value_counts()
    playbooks = sorted(p for p, n in counts.items() if n >= config.min_treated_per_playbook)
    if not playbooks:
        raise UpliftDataError(
            f"no playbook has {config.min_treated_per_playbook} treated contacts with a finished "
            f"horizon (have {counts.to_dict() or 'none'})"
        )
    return UpliftModel(
        feature_names=names,
        control=_booster(control, names, config),
        treated={p: _booster(treated[treated["playbook"] == p], names, config) for p in playbooks},
        horizon_days=horizon_days,
        metadata={"feature_catalogue_version": FEATURE_CATALOGUE_VERSION},
    )


def split_by_time(frame: pd.DataFrame, held_out_share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier contact days to fit on, the latest ones (about `held_out_share` of rows) to judge."""
    days = np.sort(frame["cutoff"].unique())
    counts = frame.groupby("cutoff").size().reindex(days).to_numpy()
    from_end = np.cumsum(counts[::-1]) / counts.sum()
    first_held = days[::-1][int(np.searchsorted(from_end, held_out_share))]
    held = frame["cutoff"] >= first_held
    if held.all() or not held.any():
        raise UpliftDataError(
            f"contacts on {len(days)} day(s): need campaigns on more than one day to judge the "
            "uplift model on later ones"
        )
    return frame[~held], frame[held]


def own_playbook_uplift(model: UpliftModel, frame: pd.DataFrame) -> np.ndarray:
    """Each contact's predicted uplift for the playbook it got (or would have got); the best
    playbook's where none is recorded or modelled."""
    uplift = model.predict_uplift(frame)
    best = uplift.max(axis=1).to_numpy()
    column = {p: i for i, p in enumerate(uplift.columns)}
    index = frame["playbook"].map(column)
    own = index.notna().to_numpy()
    out = best.copy()
    rows = np.flatnonzero(own)
    out[rows] = uplift.to_numpy()[rows, index.to_numpy()[own].astype(int)]
    return out


def evaluate_uplift(
    model: UpliftModel, held_out: pd.DataFrame, horizon_days: int, top_share: float
) -> UpliftMetrics:
    """Rank the held-out contacts by the model's uplift and by value at risk (the model's own churn
    without contact x expected value), and measure each ranking's Qini and uplift@k on whether the
    customer ordered (scikit-uplift)."""
    from sklift.metrics import qini_auc_score, uplift_at_k

    retained = 1 - held_out["churned"].to_numpy()
    treatment = (held_out["group"] == TREATED).to_numpy().astype(int)
    by_model = own_playbook_uplift(model, held_out)
    by_risk = value_at_risk(
        model.churn_without_contact(held_out), snapshot_expected_value(held_out, horizon_days)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklift calls a deprecated sklearn helper
        scores = {
            name: (
                qini_auc_score(retained, ranking, treatment),
                uplift_at_k(retained, ranking, treatment, strategy="overall", k=top_share),
            )
            for name, ranking in (("model", by_model), ("risk", by_risk))
        }
    return UpliftMetrics(
        rows=len(held_out),
        treated=int(treatment.sum()),
        control=int((1 - treatment).sum()),
        qini_model=scores["model"][0],
        qini_value_at_risk=scores["risk"][0],
        uplift_at_k_model=scores["model"][1],
        uplift_at_k_value_at_risk=scores["risk"][1],
        top_share=top_share,
    )


def decide_uplift(metrics: UpliftMetrics) -> UpliftGate:
    """The model may drive the queues only if its uplift@k beats value at risk's on held-out
    campaigns."""
    ours, theirs = metrics.uplift_at_k_model, metrics.uplift_at_k_value_at_risk
    if math.isnan(ours) or math.isnan(theirs):
        return UpliftGate(False, "uplift@k cannot be measured on the held-out campaigns")
    if ours > theirs:
        return UpliftGate(True, f"uplift@k {ours:.4f} beats value at risk's {theirs:.4f}")
    return UpliftGate(False, f"uplift@k {ours:.4f} does not beat value at risk's {theirs:.4f}")


@dataclass(frozen=True)
class SavingPriorSpec:
    """The documented saving prior the campaigns update: playbooks.yaml's weights per playbook and
    the fade and freshness the terms are computed with (handed in by the shell, which reads
    outreach's playbooks; training does not import outreach)."""

    coefficients: Coefficients
    fade_days: float
    fresh_days: float


@dataclass(frozen=True)
class SavingPriorFit:
    """The saving prior's weights fitted to the shop's campaigns, and whether they predict the
    latest campaigns' outcomes better than playbooks.yaml's (held-out log-loss per contact)."""

    coefficients: dict[str, dict[str, float]]
    held_out_log_loss: float
    held_out_log_loss_documented: float
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class _Contacts(NamedTuple):
    """The contacts as the saving prior's likelihood reads them, one row each."""

    terms: np.ndarray  # SAVING_TERMS
    churn_without_contact: np.ndarray
    playbook: np.ndarray  # index into the spec's playbooks; -1 for control
    churned: np.ndarray

    def joined(self, other: _Contacts) -> _Contacts:
        return _Contacts(*(np.concatenate([a, b]) for a, b in zip(self, other, strict=True)))


def _contacts(
    frame: pd.DataFrame, churn_probability: np.ndarray, spec: SavingPriorSpec, horizon_days: int
) -> _Contacts:
    """The contacts the likelihood can read: control rows, and treated rows whose playbook the
    spec names (a treated contact with another playbook, or none recorded, is dropped: read as
    uncontacted it would bias the control side)."""
    column = {name: i for i, name in enumerate(spec.coefficients)}
    index = frame["playbook"].map(column)
    treated = (frame["group"] == TREATED).to_numpy()
    kept = ~treated | index.notna().to_numpy()
    frame, index, treated = frame[kept], index[kept], treated[kept]
    probability = np.asarray(churn_probability, dtype="float64")[kept]
    terms = saving_terms(frame, spec.fade_days, spec.fresh_days, probability, horizon_days)
    return _Contacts(
        terms[list(SAVING_TERMS)].to_numpy(dtype="float64"),
        np.clip(probability, 1e-4, 1 - 1e-4),
        np.where(treated, index.fillna(0).to_numpy(dtype=int), -1),
        frame["churned"].to_numpy(dtype="float64"),
    )


def _log_loss(weights: np.ndarray, scale: float, contacts: _Contacts) -> np.ndarray:
    """Per contact: log-loss of churn = p0 x scale x (1 - share of the playbook it got; 0 for
    control)."""
    playbook = contacts.playbook
    picked = weights[np.maximum(playbook, 0)]
    share = np.where(playbook >= 0, (contacts.terms * picked).sum(axis=1), 0.0)
    q = np.clip(contacts.churn_without_contact * scale * (1.0 - share), 1e-4, 1 - 1e-4)
    churned = contacts.churned
    return -(churned * np.log(q) + (1 - churned) * np.log(1 - q))


SCALE_BOUNDS = (0.5, 1.5)  # how far the churn model's level may be off on the contacted


def _fit_weights(
    contacts: _Contacts, center: np.ndarray, strength: float, fitted: np.ndarray
) -> tuple[np.ndarray, float]:
    """Weights (pulled towards `center`; those of terms not `fitted`, a bool per column, held at
    it) and the churn model's scale, by penalised likelihood."""
    from scipy.optimize import minimize

    size = center.size
    free = np.broadcast_to(fitted, center.shape).ravel()

    def objective(theta: np.ndarray) -> float:
        weights = theta[:size].reshape(center.shape)
        penalty = strength * float(((weights - center) ** 2).sum())
        return float(_log_loss(weights, theta[size], contacts).sum()) + penalty

    start = np.r_[center.ravel(), 1.0]
    bounds = [(-1.0, 1.0) if f else (c, c) for f, c in zip(free, center.ravel(), strict=True)]
    bounds.append(SCALE_BOUNDS)
    found = minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    return found.x[:size].reshape(center.shape), float(found.x[size])


def _fit_scale(contacts: _Contacts, weights: np.ndarray) -> float:
    """The churn model's scale alone, the weights held (the documented prior's yardstick)."""
    from scipy.optimize import minimize_scalar

    found = minimize_scalar(
        lambda scale: float(_log_loss(weights, scale, contacts).sum()),
        bounds=SCALE_BOUNDS,
        method="bounded",
    )
    return float(found.x)


def fit_saving_prior(
    fit: pd.DataFrame,
    held: pd.DataFrame,
    churn_probability: tuple[np.ndarray, np.ndarray],
    spec: SavingPriorSpec,
    config: UpliftConfig,
    horizon_days: int,
) -> SavingPriorFit:
    """Penalised maximum likelihood of the saving prior's weights on the earlier campaigns (churn
    of a contacted customer = churn without contact x (1 - the playbook's share), churn without
    contact from the churn model; only `UpliftConfig.fitted_terms` move), judged against
    playbooks.yaml's weights on the latest ones (`UpliftConfig.prior_margin_errors`); the weights
    kept are refitted on all contacts."""
    earlier = _contacts(fit, churn_probability[0], spec, horizon_days)
    latest = _contacts(held, churn_probability[1], spec, horizon_days)
    playbooks = list(spec.coefficients)
    center = np.array(
        [[float(spec.coefficients[p].get(t, 0.0)) for t in SAVING_TERMS] for p in playbooks]
    )
    fitted_terms = np.array([term in config.fitted_terms for term in SAVING_TERMS])
    weights, scale = _fit_weights(earlier, center, config.prior_strength, fitted_terms)
    fitted_losses = _log_loss(weights, scale, latest)
    documented_losses = _log_loss(center, _fit_scale(earlier, center), latest)
    fitted, documented = float(fitted_losses.mean()), float(documented_losses.mean())
    gain = documented_losses - fitted_losses
    error = float(gain.std(ddof=1) / math.sqrt(gain.size)) if gain.size > 1 else math.inf
    margin = config.prior_margin_errors * error if config.prior_margin_errors else 0.0
    passed = documented - fitted > margin
    verdict = "beats" if passed else "does not beat"
    told_margin = (
        f" by more than {config.prior_margin_errors:g} standard errors "
        f"({config.prior_margin_errors:g} x {error:.5f})"
        if config.prior_margin_errors
        else f" (standard error of the difference {error:.5f})"
    )
    reason = (
        f"fitted saving prior: held-out log-loss {fitted:.5f} {verdict} playbooks.yaml's "
        f"{documented:.5f}{told_margin}"
    )
    final, _ = _fit_weights(earlier.joined(latest), center, config.prior_strength, fitted_terms)
    coefficients = {
        p: {t: round(float(final[i, j]), 5) for j, t in enumerate(SAVING_TERMS)}
        for i, p in enumerate(playbooks)
    }
    return SavingPriorFit(coefficients, fitted, documented, passed, reason)


def _churn_without_contact(
    settings: Settings, frames: tuple[pd.DataFrame, ...]
) -> tuple[tuple[np.ndarray, ...] | None, str]:
    """The churn champion's probabilities for each frame's contacts (churn without contact, as the
    queues will see it), or None and why."""
    from models.pyfunc import NoChampionError, load_scorer

    try:
        scorer, version = load_scorer(settings.resolved_model_uri, settings.tracking_uri)
    except NoChampionError as error:
        return None, f"no churn champion to start the saving prior from ({error})"
    probabilities = tuple(scorer.predict_proba(scorer.matrix(frame)) for frame in frames)
    return probabilities, f"{version.name}/{version.version}"


def train_uplift(
    worked_history: pd.DataFrame | None = None,
    horizon_days: int | None = None,
    promote: bool = True,
    settings: Settings | None = None,
    config: UpliftConfig | None = None,
    saving_prior: SavingPriorSpec | None = None,
) -> UpliftResult:
    """Fit on the warehouse's contacts plus `worked_history` (the queue store's own contacts and
    control group, same columns), judge on the latest campaigns, log and register. Two learners:
    the T-learner, and (given `saving_prior`) the documented saving prior's weights fitted to the
    campaigns. The champion alias moves when either beats its yardstick on the held-out campaigns
    (the T-learner value at risk, the fitted prior playbooks.yaml's weights), and `promote` or there
    is no uplift champion yet; the version records which one drives the queues."""
    settings = settings or get_settings()
    config = config or UpliftConfig()
    horizon_days = horizon_days or settings.horizon_days
    con = connect(settings.warehouse_path, read_only=True)
    try:
        history = combine_history(read_contacts(con), worked_history)
        frame = contact_features(con, history, horizon_days, settings.lookback_days)
    finally:
        con.close()
    if frame.empty:
        raise UpliftDataError(
            f"no contact with a finished {horizon_days}-day horizon ({len(history)} contacts in "
            "all): import past campaigns as contacts, or let the queues run for a horizon"
        )
    fit, held = split_by_time(frame, config.held_out_share)
    names = usable_features(fit)
    metrics = evaluate_uplift(
        fit_uplift(fit, names, horizon_days, config), held, horizon_days, config.top_share
    )
    gate = decide_uplift(metrics)
    model = fit_uplift(frame, usable_features(frame), horizon_days, config)
    prior_fit, prior_note = None, "no saving prior handed in"
    if saving_prior is not None:
        probabilities, prior_note = _churn_without_contact(settings, (fit, held))
        if probabilities is not None:
            prior_fit = fit_saving_prior(
                fit, held, probabilities, saving_prior, config, horizon_days
            )
            prior_note = prior_fit.reason
    drives = "t-learner" if gate.passed else None
    if drives is None and prior_fit is not None and prior_fit.passed:
        drives = "saving prior"
    model.metadata.update(
        {
            "drives": drives,
            "saving_prior": None if prior_fit is None else prior_fit.to_dict(),
            "saving_prior_spec": None
            if saving_prior is None
            else {"fade_days": saving_prior.fade_days, "fresh_days": saving_prior.fresh_days},
        }
    )
    with mlflow_store(settings) as client:
        experiment_id = ensure_experiment(client, settings.experiment, settings)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"uplift-h{horizon_days}"):
            mlflow.log_params(
                {
                    "horizon_days": horizon_days,
                    "contacts": len(frame),
                    "contacts_fit": len(fit),
                    "contacts_held_out": len(held),
                    "playbooks": ",".join(model.playbooks),
                    "features": len(model.feature_names),
                    "learner": "T-learner (LightGBM); saving prior fitted by penalised likelihood",
                    "prior_strength": config.prior_strength,
                    **{f"lgb_{k}": v for k, v in config.lgb_params().items()},
                }
            )
            mlflow.log_metrics({k: v for k, v in metrics.to_dict().items() if math.isfinite(v)})
            if prior_fit is not None:
                mlflow.log_metrics(
                    {
                        "saving_prior_held_out_log_loss": prior_fit.held_out_log_loss,
                        "saving_prior_held_out_log_loss_documented": (
                            prior_fit.held_out_log_loss_documented
                        ),
                    }
                )
                mlflow.log_dict(prior_fit.to_dict(), "saving_prior.json")
            mlflow.set_tag("uplift_gate", "passed" if gate.passed else "refused")
            mlflow.set_tag("drives_the_queues", drives or "nothing (gates refused)")
            info = log_uplift(model, frame)
        version = str(info.registered_model_version)
        has_champion = any(
            CHAMPION_ALIAS in (v.aliases or [])
            for v in client.search_model_versions(f"name = '{UPLIFT_MODEL_NAME}'")
        )
        promoted = drives is not None and (promote or not has_champion)
        if promoted:
            client.set_registered_model_alias(UPLIFT_MODEL_NAME, CHAMPION_ALIAS, version)
    log.info("uplift: %s; %s", gate.reason, prior_note)
    return UpliftResult(
        version, metrics, gate, promoted, model.playbooks, len(frame), drives, prior_note
    )
