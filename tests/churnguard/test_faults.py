"""The daily job killed for real (SIGKILL) after the scores are written and before the queues:
the re-run finishes, duplicates nothing and loses nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from common.settings import Settings
from outreach.rules import EXCLUSION_RULES
from outreach.store import open_store
from outreach.tables import queue_items, runs

CHURNGUARD = str(Path(sys.executable).with_name("churnguard"))
RULES = EXCLUSION_RULES


def _daily(home: Path) -> subprocess.Popen:
    env = {**os.environ, "CHURNGUARD_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("CHURNGUARD_DATABASE_URL", None)
    return subprocess.Popen(
        [CHURNGUARD, "daily"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.slow
def test_daily_killed_between_scores_and_queues_is_finished_by_a_rerun(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    settings = Settings(home=home)
    exports = settings.exports_dir
    job = _daily(home)
    deadline = time.monotonic() + 240
    scores = []
    while time.monotonic() < deadline and job.poll() is None:
        scores = list(exports.glob("scores_*.parquet")) if exports.exists() else []
        if scores:
            job.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    job.wait(timeout=30)
    assert scores, f"the daily job ended before writing scores:\n{job.stdout.read()}"
    assert job.returncode == -signal.SIGKILL, "the job finished before it could be killed"
    as_of = pd.read_parquet(scores[0])["as_of"].iloc[0].date()
    store = open_store(settings.queue_database_url)
    try:
        if store.run_report(as_of) is not None:
            pytest.skip("the kill landed after the queues were saved; nothing to finish")
    finally:
        store.close()

    rerun = _daily(home)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert "Traceback" not in output

    scored = pd.read_parquet(exports / f"scores_{as_of.isoformat()}.parquet")
    assert scored["customer_id"].is_unique
    store = open_store(settings.queue_database_url)
    try:
        report = store.run_report(as_of)
        with store.engine.connect() as connection:
            run_rows = connection.execute(
                select(func.count()).select_from(runs).where(runs.c.queue_date == as_of)
            ).scalar_one()
            item_rows = connection.execute(
                select(queue_items.c.customer_id).where(queue_items.c.queue_date == as_of)
            ).all()
    finally:
        store.close()
    assert run_rows == 1
    customers = [row[0] for row in item_rows]
    assert len(customers) == len(set(customers)) == report.queued > 0
    # nothing lost: every scored customer is queued or left out by a named rule
    assert report.scored == len(scored)
    assert report.queued + sum(getattr(report, rule) for rule in RULES) == len(scored)

    again = _daily(home)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0 and "already built earlier" in output, output


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHURNGUARD_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("CHURNGUARD_DATABASE_URL", None)
    return subprocess.run(
        [CHURNGUARD, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _registry(home: Path):
    import mlflow

    uri = Settings(home=home).tracking_uri
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _register_copy_of_champion(home: Path, name: str, champion: bool = False) -> Path:
    """A new version made of a copy of the champion's files under this test's home (the registry's
    own files belong to the session's pristine home); return the copy's folder."""
    from common.names import CHAMPION_ALIAS, MODEL_NAME
    from models.pyfunc import _artifact_uri

    client = _registry(home)
    current = client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    copy = home / name
    shutil.copytree(Path(_artifact_uri(client, current).removeprefix("file://")), copy)
    created = client.create_model_version(MODEL_NAME, copy.as_uri(), run_id=current.run_id)
    if champion:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, str(created.version))
    return copy


def _truncate_booster(files: Path) -> None:
    (booster,) = files.rglob("booster.txt")
    booster.write_bytes(booster.read_bytes()[: min(50_000, booster.stat().st_size // 2)])


@pytest.mark.slow
def test_a_champion_whose_files_are_gone_loses_the_gate_instead_of_blocking_promotion(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    _register_copy_of_champion(home, "candidate-files")
    shutil.rmtree(_register_copy_of_champion(home, "champion-files", champion=True))

    promoted = _cli(home, "promote", "2")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "Traceback" not in promoted.stdout + promoted.stderr
    said = " ".join(promoted.stdout.split())
    assert "v2 is now champion (was v3)" in said
    assert "champion v3 cannot be re-scored" in said and "baselines only" in said


@pytest.mark.slow
def test_a_truncated_model_is_refused_by_promote_and_daily_with_one_line(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    _truncate_booster(_register_copy_of_champion(home, "candidate-files"))

    refused = _cli(home, "promote", "2")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = " ".join(refused.stdout.split())
    assert "v2 not promoted" in said and "cannot be loaded" in said and "SIGABRT" in said

    _truncate_booster(_register_copy_of_champion(home, "champion-files", champion=True))
    daily = _cli(home, "daily")
    assert daily.returncode == 2, daily.stdout + daily.stderr
    assert "Traceback" not in daily.stderr and daily.stderr.startswith("error: churnguard v3")
    assert "probe process failed" in daily.stderr
    assert len(daily.stderr.strip().splitlines()) == 1


def test_a_locked_queue_database_is_named_as_such_not_as_the_mlflow_store(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import create_engine, event, insert
    from sqlalchemy.exc import OperationalError

    from churnguard.faults import operator_fault

    settings = Settings(home=tmp_path / "home")
    settings.ensure_home()
    store = open_store(settings.queue_database_url)  # the real schema, migrated
    # wait 0.1 s for the lock instead of the store's 30 s
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=100"))
    store.engine.dispose()
    holder = sqlite3.connect(settings.home_dir / "outreach.db")
    holder.execute("BEGIN EXCLUSIVE")  # another process writing the queues
    engine = create_engine(settings.queue_database_url, connect_args={"timeout": 0.1})
    failures = []
    try:
        with pytest.raises(OperationalError) as raised, engine.begin() as connection:
            connection.execute(insert(runs).values(queue_date=pd.Timestamp("2025-01-01").date()))
        failures.append(raised.value)
        with pytest.raises(OperationalError) as raised:  # the store's own write path
            store.claim("customer-care", 1, "ann")
        failures.append(raised.value)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
        store.close()
    for failure in failures:
        told = operator_fault(failure, settings, "daily")
        assert told is not None and told.startswith("daily stopped: the queue database")
        assert settings.queue_database_url in told and "MLflow" not in told
