"""What the service scores with: one model and one snapshot, swapped together, atomically, on reload.

A request takes `state.current` once and uses that `Loaded` throughout, so a reload never mixes an
old model with a new snapshot inside one request, and never makes a request wait: loading happens
on the reload thread and the swap is one reference assignment. A model or snapshot that fails to load,
or that does not fit its counterpart, is refused: the service keeps what it had and says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from features.publish import PublishedSnapshot, latest_pointer, load_published_snapshot

logger = logging.getLogger("churnguard.serving")


class Scorer(Protocol):
    """What serving needs of the model (models.scorer.ChurnScorer provides it)."""

    feature_names: tuple[str, ...]
    feature_schema_version: str

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...
    def percentile(self, probabilities: np.ndarray) -> np.ndarray: ...
    def risk_band(self, probabilities: np.ndarray) -> np.ndarray: ...
    def explain(self, X: np.ndarray, top_k: int = 3) -> list[list[Any]]: ...


class ModelSource(Protocol):
    """Where models come from: a cheap check of which version is current, and a (slow) load."""

    uri: str

    def current_version(self) -> str: ...
    def load(self, version: str) -> Scorer: ...


@dataclass(frozen=True)
class Loaded:
    """A model and the snapshot it scores from; `matrix` is the snapshot in the model's column order."""

    scorer: Scorer
    model_version: str
    snapshot: PublishedSnapshot | None
    snapshot_stamp: str | None
    matrix: np.ndarray | None
    column_of: dict[str, int]
    loaded_at: str

    def lookup_rows(self, customer_ids: list[str]) -> list[int | None]:
        row_of = self.snapshot.row_of if self.snapshot is not None else {}
        return [row_of.get(customer_id) for customer_id in customer_ids]


class Incompatible(ValueError):
    """A model and a snapshot that cannot be used together."""


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def pointer_stamp(pointer: dict | None) -> str | None:
    """What identifies a publication: the file and when it was published."""
    if pointer is None:
        return None
    return f"{pointer.get('path')}@{pointer.get('published_at')}"


def align_snapshot_to_model(scorer: Scorer, snapshot: PublishedSnapshot) -> np.ndarray:
    """The snapshot's matrix with the model's columns in the model's order, or Incompatible."""
    missing = [name for name in scorer.feature_names if name not in snapshot.feature_names]
    if missing:
        raise Incompatible(
            f"snapshot {snapshot.path.name} (catalogue {snapshot.catalogue_version}) lacks "
            f"{len(missing)} feature(s) the model (schema {scorer.feature_schema_version}) needs: "
            f"{missing[:10]}"
        )
    if snapshot.catalogue_version != scorer.feature_schema_version:
        raise Incompatible(
            f"snapshot {snapshot.path.name} was built with feature catalogue "
            f"{snapshot.catalogue_version}, the model was trained on {scorer.feature_schema_version}"
        )
    if tuple(scorer.feature_names) == snapshot.feature_names:
        return snapshot.matrix
    order = [snapshot.feature_names.index(name) for name in scorer.feature_names]
    return np.ascontiguousarray(snapshot.matrix[:, order])


def assemble(
    scorer: Scorer, version: str, snapshot: PublishedSnapshot | None, stamp: str | None
) -> Loaded:
    matrix = align_snapshot_to_model(scorer, snapshot) if snapshot is not None else None
    return Loaded(
        scorer=scorer,
        model_version=version,
        snapshot=snapshot,
        snapshot_stamp=stamp,
        matrix=matrix,
        column_of={name: j for j, name in enumerate(scorer.feature_names)},
        loaded_at=_now(),
    )


class ServingState:
    """The hot-reloadable holder: `current` is what requests use; `refresh()` checks for news."""

    def __init__(self, source: ModelSource, snapshots_dir: Path) -> None:
        self.source = source
        self.snapshots_dir = snapshots_dir
        self.current: Loaded | None = None
        self.last_check_at: str | None = None
        self.last_error: str | None = None
        # What was refused is retried only once something else changes, not on every check.
        self.refused_model: str | None = None
        self.refused_snapshot: str | None = None
        self._lock = threading.Lock()  # one refresh at a time; requests never take it
        self._refused_now = False
        self.on_reload: Callable[[str, str], None] = lambda kind, outcome: None

    def _fail(self, kind: str, message: str) -> None:
        self._refused_now = True
        self.last_error = f"{_now()} {kind}: {message}"
        logger.error("reload of the %s refused, serving what was loaded before: %s", kind, message)
        self.on_reload(kind, "failed")

    def _resolve(self) -> tuple[str | None, dict | None]:
        version = pointer = None
        try:
            version = self.source.current_version()
        except Exception as error:  # registry unreachable, alias not set: keep serving
            self._fail("model", f"cannot resolve {self.source.uri}: {error}")
        try:
            pointer = latest_pointer(self.snapshots_dir)
        except Exception as error:  # a pointer rewritten by hand, a bad disk
            self._fail("snapshot", f"cannot read the pointer in {self.snapshots_dir}: {error}")
        return version, pointer

    def refresh(self) -> Loaded | None:
        """Load a new champion version and/or a new snapshot if there is one; swap only on success."""
        with self._lock:
            self.last_check_at = _now()
            self._refused_now = False
            old = self.current
            old_version = old.model_version if old else None
            old_stamp = old.snapshot_stamp if old else None
            version, pointer = self._resolve()
            stamp = pointer_stamp(pointer)

            model_news = version is not None and version != old_version
            snapshot_news = stamp is not None and stamp != old_stamp
            if model_news and version == self.refused_model and not snapshot_news:
                model_news = False
            if snapshot_news and stamp == self.refused_snapshot and not model_news:
                snapshot_news = False
            if not (model_news or snapshot_news):
                return old

            scorer = old.scorer if old else None
            if model_news:
                try:
                    scorer = self.source.load(version)
                except Exception as error:
                    self.refused_model = version
                    self._fail(
                        "model", f"cannot load version {version} of {self.source.uri}: {error}"
                    )
                    model_news = False
            snapshot = old.snapshot if old else None
            if snapshot_news:
                try:
                    snapshot = load_published_snapshot(self.snapshots_dir)
                except Exception as error:
                    self.refused_snapshot = stamp
                    self._fail("snapshot", f"cannot load snapshot {stamp}: {error}")
                    snapshot_news = False
            if not (model_news or snapshot_news) or scorer is None:
                return old

            new_model = (scorer, version) if model_news else (old.scorer, old_version)
            old_model = (old.scorer, old_version) if old else None
            old_snap = (old.snapshot, old_stamp) if old else (None, None)
            new_snap = (snapshot, stamp) if snapshot_news else old_snap
            candidates = [(new_model, new_snap)]
            if model_news:
                candidates.append((new_model, old_snap))
            if snapshot_news and old_model is not None:
                candidates.append((old_model, new_snap))
            problem = None
            for (cand_scorer, cand_version), (cand_snapshot, cand_stamp) in candidates:
                try:
                    chosen = assemble(cand_scorer, cand_version, cand_snapshot, cand_stamp)
                    break
                except Incompatible as error:
                    problem = problem or str(error)
            else:
                chosen = old
            if model_news and (chosen is None or chosen.model_version != version):
                self.refused_model = version
                self._fail("model", f"version {version} refused: {problem}")
            if snapshot_news and (chosen is None or chosen.snapshot_stamp != stamp):
                self.refused_snapshot = stamp
                self._fail("snapshot", f"{stamp} refused: {problem}")
            if chosen is not old and chosen is not None:
                self.current = chosen
                if not self._refused_now:
                    self.last_error = None
                if chosen.model_version != old_version:
                    logger.info("now scoring with model version %s", chosen.model_version)
                    self.on_reload("model", "ok")
                if chosen.snapshot_stamp != old_stamp:
                    logger.info("now reading features from snapshot %s", chosen.snapshot_stamp)
                    self.on_reload("snapshot", "ok")
            return self.current


class Reloader:
    """A daemon thread that calls `state.refresh()` every `interval` seconds until stopped."""

    def __init__(self, state: ServingState, interval: float) -> None:
        self.state = state
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="churnguard-reload", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.state.refresh()
            except Exception:  # the loop must outlive any surprise; the error is in the log
                logger.exception("reload check failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def readiness(state: ServingState | None, keys_problem: str | None = None) -> dict:
    """What /readyz says: ready only with a model, a snapshot and readable API keys; else why not."""
    loaded = state.current if state is not None else None
    reason = None
    if keys_problem is not None:
        reason = keys_problem
    elif state is None:
        reason = "the service is starting"
    elif loaded is None:
        reason = state.last_error or f"no model loaded yet from {state.source.uri}"
    elif loaded.snapshot is None:
        reason = (
            f"no usable feature snapshot in {state.snapshots_dir} (publish one with the daily job)"
            + (f"; {state.last_error}" if state.last_error else "")
        )
    snapshot = loaded.snapshot if loaded is not None else None
    return {
        "ready": reason is None,
        "reason": reason,
        "model_uri": state.source.uri if state is not None else None,
        "model_version": loaded.model_version if loaded else None,
        "feature_schema_version": loaded.scorer.feature_schema_version if loaded else None,
        "feature_names": list(loaded.scorer.feature_names) if loaded else [],
        "model_kind": loaded.scorer.kind if loaded else None,
        "verdict": loaded.scorer.metadata.get("verdict") if loaded else None,  # from the backtests
        "snapshot_as_of": snapshot.as_of.isoformat() if snapshot else None,
        "snapshot_customers": len(snapshot.customer_ids) if snapshot else None,
        "snapshot_catalogue_version": snapshot.catalogue_version if snapshot else None,
        "loaded_at": loaded.loaded_at if loaded else None,
        "last_check_at": state.last_check_at if state is not None else None,
        "last_reload_error": state.last_error if state is not None else None,
    }
