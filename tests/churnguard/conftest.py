"""A small shop ingested and trained (champion set) once per session; tests copy it before use."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import Settings


@pytest.fixture(scope="session")
def trained_home(small_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine CHURNGUARD_HOME with the small shop in the warehouse and a champion in MLflow.
    Never write into it: copy it (shutil.copytree) into the test's own tmp_path."""
    from features.ingest import ingest
    from training.train import train

    home = tmp_path_factory.mktemp("trained_home")
    settings = Settings(home=home)
    ingest(small_shop, settings=settings, progress=None, data_docs=False)
    train(horizon_days=90, settings=settings, promote_after=True)
    return home
