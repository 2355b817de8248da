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
