"""Faults an operator meets, through the real `churnguard` command: a second job while one runs,
a full disk, an as-of date far past the data, state files left readable by others. Each is exit 2
(or a warning) and one line of what happened and what to do; nothing is left half-written."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from common.files import lock_holder, run_lock
from common.settings import Settings
from features.warehouse import run_lock_path

CHURNGUARD = str(Path(sys.executable).with_name("churnguard"))


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "CHURNGUARD_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("CHURNGUARD_DATABASE_URL", None)
    return env


def _start(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [CHURNGUARD, *args],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    """The command with library logs below ERROR silenced, so stderr is what the operator is told."""
    return subprocess.run(
        [CHURNGUARD, "--log-level", "ERROR", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def _told(stderr: str) -> list[str]:
    """What the command said to the operator: stderr without library log records."""
    return [line for line in stderr.strip().splitlines() if not LOG_LINE.match(line)]


def _wait_for_lock(path: Path, job: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and job.poll() is None:
        holder = lock_holder(path)
        if holder:
            return holder
        time.sleep(0.05)
    pytest.fail(f"the first job never held {path}: {job.communicate()}")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_a_second_ingest_or_daily_while_ingest_runs_is_told_who_runs(small_shop, tmp_path):
    home = tmp_path / "home"
    first = _start(home, "ingest", str(small_shop), "--no-progress")
    holder = _wait_for_lock(run_lock_path(Settings(home=home).warehouse_path), first)
    assert holder.startswith(f"ingest (pid {first.pid} since ")

    second = _run(home, "ingest", str(small_shop), "--no-progress")
    assert second.returncode == 2
    assert second.stderr.startswith(f"error: another ingest is running (pid {first.pid} since ")
    assert len(_told(second.stderr)) == 1 and "Traceback" not in second.stderr
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err

    # state is the owner's alone
    settings = Settings(home=home)
    assert _mode(settings.home_dir) == 0o700 and _mode(settings.reports_dir) == 0o700
    assert _mode(settings.warehouse_path) == 0o600


@pytest.mark.slow
def test_a_second_daily_is_refused_and_an_as_of_far_past_the_data_warns(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    settings = Settings(home=home)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    (last,) = con.execute("SELECT max(ordered_at)::DATE FROM orders").fetchall()[0]
    con.close()
    far = last + timedelta(days=settings.horizon_days + 30)

    # Another daily (here: this test, holding the daily's lock as a running job does) is running.
    with run_lock(settings.home_dir / "daily.lock", "daily"):
        second = _run(home, "daily", "--as-of", far.isoformat())
    assert second.returncode == 2
    assert _told(second.stderr) == [
        line for line in _told(second.stderr) if line.startswith("error: another daily is running")
    ]
    assert f"(pid {os.getpid()} since " in second.stderr and len(_told(second.stderr)) == 1
    assert not (home / "outreach.db").exists()  # it touched nothing

    first = _run(home, "daily", "--as-of", far.isoformat())
    assert first.returncode == 0, first.stdout + first.stderr
    warning = [line for line in first.stderr.splitlines() if line.startswith("warning: ")]
    assert warning and f"{settings.horizon_days + 30} days after the data ends" in warning[0]
    assert "more than the 90-day horizon" in warning[0]
    assert not list(home.rglob("*.partial"))
    assert _mode(home / "outreach.db") == 0o600 and _mode(settings.exports_dir) == 0o700


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A 24 MB tmpfs of this test's own (needs mount rights: skipped where there are none)."""
    mountpoint = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _fill(disk: Path, leave_bytes: int) -> Path:
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * max(free - leave_bytes, 0))
    return filler


@pytest.mark.slow
def test_a_full_disk_stops_ingest_in_one_line_and_leaves_the_warehouse_as_it_was(
    small_shop: Path, small_disk: Path, tmp_path: Path
) -> None:
    home = small_disk / "home"
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(small_shop / "orders.parquet", data / "orders.parquet")
    first = _run(home, "ingest", str(data), "--no-progress")
    assert first.returncode == 0, first.stdout + first.stderr
    warehouse = Settings(home=home).warehouse_path
    con = duckdb.connect(str(warehouse), read_only=True)
    before = con.execute("SELECT count(*), sum(amount) FROM orders").fetchall()
    con.close()

    filler = _fill(small_disk, leave_bytes=256 << 10)
    full = _run(home, "ingest", str(small_shop), "--no-progress")
    assert full.returncode == 2, full.stdout + full.stderr
    assert "Traceback" not in full.stderr and len(_told(full.stderr)) == 1
    assert "no space left on the disk" in full.stderr and "free some space" in full.stderr

    filler.unlink()
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*), sum(amount) FROM orders").fetchall() == before
    con.close()
    again = _run(home, "ingest", str(small_shop), "--no-progress")
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["promote"], ["train", "--horizon-days", "90"]])
def test_a_locked_mlflow_store_is_one_line_and_exit_2(
    trained_home: Path, tmp_path: Path, command: list[str]
) -> None:
    """The SQLite MLflow store held by another process's exclusive transaction (an MLflow UI or
    another train writing): `train` and `promote` say so in one line, exit 2, and change nothing."""
    import sqlite3

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    versions = "SELECT count(*) FROM model_versions"
    before = sqlite3.connect(home / "mlflow.db").execute(versions).fetchall()
    holder = sqlite3.connect(home / "mlflow.db", timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process writing the store, holding its lock
        locked = _run(home, *command)
    finally:
        holder.rollback()
        holder.close()
    assert locked.returncode == 2, locked.stdout + locked.stderr
    assert "Traceback" not in locked.stderr and len(_told(locked.stderr)) == 1, locked.stderr
    (line,) = _told(locked.stderr)
    assert line.startswith(f"error: {command[0]} stopped: the MLflow store sqlite:///")
    assert "is locked by another process" in line and "run again" in line
    assert sqlite3.connect(home / "mlflow.db").execute(versions).fetchall() == before


@pytest.fixture()
def queue_on_postgres(postgres_url: str):
    """A throwaway schema on the test PostgreSQL: the queue database URL, and an engine on it."""
    import sqlalchemy

    schema = f"daily_race_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = sqlalchemy.make_url(postgres_url).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    engine = sqlalchemy.create_engine(url)
    try:
        yield url.render_as_string(hide_password=False), engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _daily_on(home: Path, url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [CHURNGUARD, "--log-level", "ERROR", "daily", *args],
        env={**_env(home), "CHURNGUARD_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _queue_state(engine) -> tuple[list, list, int]:
    """Days built (with their item counts), duplicated (day, customer) items, and all items."""
    import sqlalchemy

    with engine.connect() as connection:
        runs = connection.execute(
            sqlalchemy.text("SELECT queue_date, queued FROM outreach_runs ORDER BY queue_date")
        ).all()
        doubled = connection.execute(
            sqlalchemy.text(
                "SELECT queue_date, customer_id FROM outreach_queue_items "
                "GROUP BY queue_date, customer_id HAVING count(*) > 1"
            )
        ).all()
        (items,) = connection.execute(
            sqlalchemy.text("SELECT count(*) FROM outreach_queue_items")
        ).one()
    return [tuple(run) for run in runs], doubled, items


@pytest.mark.postgres
@pytest.mark.slow
def test_two_dailies_at_once_on_postgresql_never_crash_nor_double_the_queue(
    trained_home: Path, tmp_path: Path, queue_on_postgres
) -> None:
    """Real concurrent `churnguard daily` processes with the queue database on PostgreSQL: on one
    home, the second (and third) exit 2 naming the running one; on two homes sharing the database
    (two machines), both finish and the day is built once. No traceback, no temporary file left."""
    url, engine = queue_on_postgres
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)

    con = duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True)
    (last,) = con.execute("SELECT max(ordered_at)::DATE FROM orders").fetchall()[0]
    con.close()
    today = (last + timedelta(days=1)).isoformat()
    # Another writer's half-written files, under the names a shared temporary scheme would use:
    # a run must never write into them nor rename them away (each writer's temporary is its own).
    theirs = [
        home / "exports" / f"scores_{today}.parquet.partial",
        home / "snapshots" / f"features_{today}.parquet.partial",
        home / "snapshots" / "latest.json.partial",
    ]
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"another writer, half way")

    # Three at once on one home: each builds the day, finds it built, or is told who runs.
    jobs = [_daily_on(home, url, "--as-of", today) for _ in range(3)]
    outcomes = []
    for job in jobs:
        out, err = job.communicate(timeout=600)
        assert "Traceback" not in err, err
        if job.returncode == 2:
            (line,) = _told(err)
            others = "|".join(str(other.pid) for other in jobs if other is not job)
            assert re.match(rf"^error: another daily is running \(pid ({others}) since ", line)
            outcomes.append("told who runs")
        else:
            assert job.returncode == 0, out + err
            outcomes.append("already built" if "already built earlier" in out else "built")
    assert outcomes.count("built") == 1, outcomes
    (built,), doubled, items = _queue_state(engine)
    assert doubled == [] and built[1] == items > 0

    # Two machines (homes) sharing the queue database, racing for the same day: it is built once.
    second_home = tmp_path / "second-home"
    shutil.copytree(trained_home, second_home)
    day = (built[0] + timedelta(days=7)).isoformat()
    racing = [_daily_on(h, url, "--as-of", day) for h in (home, second_home)]
    results = []
    for job in racing:
        out, err = job.communicate(timeout=600)
        results.append((job.returncode, out, err))
    for code, out, err in results:
        assert code == 0, out + err
        assert "Traceback" not in err
    said = [out for _, out, _ in results]
    assert sum("already built" in out for out in said) <= 1, said
    runs, doubled, items = _queue_state(engine)
    assert [run[0].isoformat() for run in runs] == [built[0].isoformat(), day]
    assert doubled == [] and items == sum(run[1] for run in runs)
    assert [path.read_bytes() for path in theirs] == [b"another writer, half way"] * 3
    for folder in (home, second_home):
        assert set(folder.rglob("*.partial")) <= set(theirs)  # none of their own left behind
