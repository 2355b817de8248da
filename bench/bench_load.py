"""Load: 32 locust users mixing /score (ids and inline, with and without reasons) and the queue
calls (list, claim, outcome) against `bentoml serve` on loopback; errors, p50/p99 and the server's
memory (RSS of the process tree, sampled each second with psutil) from the first to the last window.

Goals: zero errors; memory flat (last window within 10% of the first). Bounded in time and in
requests; locust stops by itself.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil

USERS = 32
SIZES = {
    "small": {"customers": 600, "seconds": 20, "max_requests": 20_000},
    "full": {"customers": 3000, "seconds": 180, "max_requests": 200_000},
}
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def _aggregated(stats_csv: Path) -> dict[str, str]:
    with stats_csv.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return row
    raise RuntimeError(f"no Aggregated row in {stats_csv}")


def _plan(home: Path, queue_date: date, teams: list[str], users_keys: dict, snapshot) -> Path:
    """What the locust users send: known ids, inline feature rows, the teams and the queue's date."""
    from features.catalogue import FEATURE_NAMES

    ids = [str(i) for i in snapshot["customer_id"]]
    inline = []
    for _, row in snapshot.head(200).iterrows():
        features = {n: (None if row[n] != row[n] else float(row[n])) for n in FEATURE_NAMES}
        inline.append({"customer_id": str(row["customer_id"]), "features": features})
    plan = home / "load-plan.json"
    plan.write_text(
        json.dumps(
            {
                "customer_ids": ids,
                "inline": inline,
                "teams": teams,
                "queue_date": queue_date.isoformat(),
                **users_keys,
            }
        )
    )
    return plan


def run_load(
    home: Path,
    snapshot,
    queue_date: date,
    teams: list[str],
    seconds: int,
    max_requests: int,
    users: int = USERS,
) -> dict[str, object]:
    """Start `bentoml serve` on `home` (a registry with a champion, a snapshot, queues), run locust
    against it for `seconds` (or `max_requests`), stop both; return the figures."""
    from bench.bench_serving import _free_port, _wait
    from serving.keys import create_key
    from serving.launch import serve_command

    score_key, _ = create_key(home / "api_keys.json", "load-crm", "score")
    outreach_key, _ = create_key(home / "api_keys.json", "load-agents", "outreach")
    plan = _plan(
        home, queue_date, teams, {"score_key": score_key, "outreach_key": outreach_key}, snapshot
    )
    port = _free_port()
    logs = home / "load-logs"
    logs.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "CHURNGUARD_HOME": str(home),
        "BENTOML_HOME": str(home / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    server = subprocess.Popen(
        serve_command(port, "127.0.0.1"),
        env=env,
        stdout=(logs / "server.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    try:
        _wait(f"http://127.0.0.1:{port}/readyz", server, logs / "server.log")
        watched = psutil.Process(server.pid)

        def sample() -> None:
            while not stop.wait(1.0):
                samples.append((time.monotonic(), _tree_rss(watched)))

        sampler = threading.Thread(target=sample, daemon=True)
        locust = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "5",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(logs / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        started = time.monotonic()
        sampler.start()
        result = subprocess.run(
            locust,
            env={**env, "CG_LOAD_PLAN": str(plan), "CG_LOAD_MAX_REQUESTS": str(max_requests)},
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
        wall = time.monotonic() - started
        stop.set()
        sampler.join()
        stats = _aggregated(logs / "locust_stats.csv")
        failures = (logs / "locust_failures.csv").read_text()
    finally:
        stop.set()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    window = max(2.0, min(60.0, wall / 4))
    first = [rss for t, rss in samples if t - started <= window]
    last = [rss for t, rss in samples if t >= samples[-1][0] - window] if samples else []
    first_mb = statistics.mean(first) / 2**20 if first else float("nan")
    last_mb = statistics.mean(last) / 2**20 if last else float("nan")
    return {
        "users": users,
        "seconds": round(wall, 1),
        "requests": int(stats["Request Count"]),
        "errors": int(stats["Failure Count"]),
        "rps": round(float(stats["Requests/s"]), 1),
        "p50_ms": float(stats["50%"]),
        "p99_ms": float(stats["99%"]),
        "rss_window_seconds": round(window, 1),
        "rss_first_window_mb": round(first_mb, 1),
        "rss_last_window_mb": round(last_mb, 1),
        "rss_growth_pct": round(100 * (last_mb - first_mb) / first_mb, 1),
        "locust_exit_code": result.returncode,
        "failures": failures if int(stats["Failure Count"]) else "",
    }


def run(scale: str) -> dict[str, object]:
    from bench.bench_serving import _build_world
    from churnguard.daily import run_daily
    from common.settings import Settings
    from features.publish import load_published_snapshot
    from outreach.playbooks import load_playbooks

    size = SIZES[scale]
    home = Path(tempfile.mkdtemp(prefix="cg-bench-load-"))
    _build_world(home, size["customers"])
    report = run_daily(Settings(home=home))
    snapshot = load_published_snapshot(home / "snapshots")
    import pandas as pd

    frame = pd.DataFrame(snapshot.matrix, columns=list(snapshot.feature_names))
    frame.insert(0, "customer_id", list(snapshot.customer_ids))
    figures = run_load(
        home,
        frame,
        report.as_of,
        sorted(load_playbooks().teams),
        size["seconds"],
        size["max_requests"],
    )
    figures["queued_items"] = report.queues.queued
    return figures
