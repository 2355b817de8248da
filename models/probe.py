"""Prove a scorer's files load and score before a process that matters touches them.

LightGBM's native loader reads past the end of a truncated `booster.txt` and aborts the whole
process (SIGABRT, "terminate called without an active exception"): no `try` catches that. So the
files are first loaded, and a probe row scored and explained, in a child process; only when the
child exits cleanly does the caller load them itself. Run as `python -m models.probe FOLDER`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

PROBE_TIMEOUT_SECONDS = 180.0
_TAIL_CHARS = 300


class ModelUnusable(ValueError):
    """A model version's files cannot be loaded or cannot score; the reason says what happened."""


def scorer_folder(root: Path) -> Path:
    """The folder holding the scorer's files inside a downloaded model, or ModelUnusable."""
    from models.scorer import BOOSTER_FILE, SCORER_FILE

    for booster in sorted(Path(root).rglob(BOOSTER_FILE)):
        if (booster.parent / SCORER_FILE).is_file():
            return booster.parent
    raise ModelUnusable(f"no {BOOSTER_FILE} next to a {SCORER_FILE} in the model's files")


def _last_words(stderr: bytes) -> str:
    """The line that says why the child died: the last fatal or error line, else the last line."""
    lines = [
        line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()
    ]
    telling = [line for line in lines if "Fatal" in line or "Error" in line or "error" in line]
    words = (telling or lines or ["no message"])[-1]
    return words[:_TAIL_CHARS]


def _ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def probe_scorer_files(folder: Path, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Load and score `folder` in a child process; ModelUnusable with the reason if that fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        child = subprocess.run(
            [sys.executable, "-m", "models.probe", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ModelUnusable(
            f"loading the scorer's files did not finish within {timeout:.0f} s"
        ) from error
    if child.returncode != 0:
        raise ModelUnusable(
            f"loading and scoring the scorer's files in a probe process failed: the probe "
            f"{_ended(child.returncode)} ({_last_words(child.stderr)}); the files are damaged or "
            "incomplete: re-register the model or name another version"
        )


def _probe(folder: Path) -> None:
    """Load the scorer and score, band and explain two rows of missing values."""
    import numpy as np

    from models.scorer import ChurnScorer

    scorer = ChurnScorer.load(folder)
    rows = np.full((2, len(scorer.feature_names)), np.nan)
    probability = scorer.predict_proba(rows)
    if probability.shape != (2,) or not np.isfinite(probability).all():
        raise SystemExit(f"Error: the probe rows scored {probability!r}, expected 2 probabilities")
    scorer.risk_band(probability)
    scorer.percentile(probability)
    scorer.explain(rows[:1])


if __name__ == "__main__":
    # LightGBM imports scikit-learn only for its sklearn estimators, which the probe never uses;
    # blocking it halves the probe's start-up.
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
    _probe(Path(sys.argv[1]))
