"""Shared fixtures: every store lives in tmp_path; services are optional except in CI."""

from __future__ import annotations

import importlib.machinery
import os
import sys
from pathlib import Path

import pytest

# pytest-xdist's workers run `python -c ...`, whose __main__ has neither __file__ nor __spec__.
# pyspark's Spark Connect package (imported by great-expectations' compatibility layer) then takes
# itself for a doctest run and calls sys.exit(0) on import. A spec named __main__ tells it otherwise
# (and multiprocessing skips re-importing a main of that name in its children).
_main = sys.modules["__main__"]
if _main.__spec__ is None and not hasattr(_main, "__file__"):
    _main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)

REQUIRE_SERVICES = os.environ.get("CHURNGUARD_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "CHURNGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.hookimpl(optionalhook=True)  # a venv without pytest-xdist still runs the suite serially
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`make test` runs two pytest-xdist workers with `--dist loadfile`: each module runs whole on
    one worker (its module fixtures are built once), and here the Spark modules (`test_spark_*.py`)
    also stay together, so the run starts one JVM (~1 GB) rather than one per worker. (xdist's own
    `loadgroup` marks do not reach its scheduler under pytest 9, which reads node ids anew.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModulesWithSparkTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "spark" if Path(module).name.startswith("test_spark") else module

    return ModulesWithSparkTogether(config, log)


@pytest.fixture()
def churnguard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point CHURNGUARD_HOME (and MLflow) at a fresh folder for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("CHURNGUARD_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CHURNGUARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHURNGUARD_MODEL_URI", raising=False)
    return home


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL URL, or a skip that says why (a failure in CI, where it is mandatory)."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to reach the server means "not here"
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {error.__class__.__name__}: {error}"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (CHURNGUARD_REQUIRE_SERVICES=1 makes it mandatory)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic shop of 500 customers over two and a half years (seed 7), generated once per session."""
    from datetime import date

    from shopsim import ShopConfig, generate_shop

    out = tmp_path_factory.mktemp("small_shop")
    generate_shop(
        ShopConfig(
            customers=500, seed=7, start=date(2023, 1, 1), end=date(2025, 6, 30), campaigns=3
        ),
        out,
    )
    return out


@pytest.fixture(scope="session")
def orders_only_shop(small_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small shop with nothing but orders.parquet: the least a shop must provide."""
    import shutil

    out = tmp_path_factory.mktemp("orders_only_shop")
    shutil.copyfile(small_shop / "orders.parquet", out / "orders.parquet")
    return out


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """The test run's one Spark session (local[2], 2 shuffle partitions, 1g driver): started on first
    use, skipped with the reason where Java is absent (a failure in CI, where it is mandatory)."""
    from common.settings import Settings
    from features.spark_session import get_spark, java_problem, stop_spark

    problem = java_problem()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(problem + " (CHURNGUARD_REQUIRE_SERVICES=1 makes it mandatory)")
        pytest.skip(problem)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    home = tmp_path_factory.mktemp("spark_home")
    settings = Settings(
        home=home, spark_master="local[2]", spark_shuffle_partitions=2, spark_driver_memory="1g"
    )
    session = get_spark(settings)
    yield session
    stop_spark()
