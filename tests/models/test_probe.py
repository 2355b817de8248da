"""A damaged scorer is refused with the reason, never by the process dying: LightGBM aborts the whole
process (SIGABRT) on a truncated booster.txt, so the files are proven in a child process first."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from models.probe import ModelUnusable, probe_scorer_files, scorer_folder
from models.scorer import BOOSTER_FILE, ChurnScorer


def _cut(path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def test_a_truncated_booster_kills_the_process_that_loads_it(scorer, tmp_path):
    """What the probe protects against: the real LightGBM artifact cut short aborts its loader."""
    folder = scorer.save(tmp_path / "scorer")
    booster = folder / BOOSTER_FILE
    _cut(booster, min(50_000, booster.stat().st_size // 2))
    code = f"from models.scorer import ChurnScorer; ChurnScorer.load({str(folder)!r})"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert child.returncode != 0


def test_the_probe_refuses_a_truncated_booster_with_the_reason(scorer, tmp_path):
    folder = scorer.save(tmp_path / "scorer")
    booster = folder / BOOSTER_FILE
    _cut(booster, min(50_000, booster.stat().st_size // 2))
    with pytest.raises(ModelUnusable, match="probe process failed"):
        probe_scorer_files(folder)


def test_the_probe_passes_a_good_scorer_and_finds_it_inside_a_model(scorer, tmp_path):
    folder = scorer.save(tmp_path / "model" / "artifacts" / "scorer")
    probe_scorer_files(folder)
    assert scorer_folder(tmp_path / "model") == folder
    assert len(ChurnScorer.load(folder).feature_names) == len(scorer.feature_names)


def test_a_model_without_scorer_files_is_unusable(scorer, tmp_path):
    folder = scorer.save(tmp_path / "model" / "scorer")
    shutil.rmtree(folder)
    with pytest.raises(ModelUnusable, match=r"no booster\.txt"):
        scorer_folder(tmp_path / "model")
