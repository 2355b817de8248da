"""Serving speed: /score behind `bentoml serve` against the same model behind `mlflow models serve`
and against a direct in-process call, on loopback, bounded in requests and in time.

Goals: single-customer p50 at one client within 3 ms of in-process; >= 3x the throughput of
`mlflow models serve`; zero errors.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np

CONCURRENCY = (1, 8, 32)
SIZES = {
    "small": {"customers": 600, "requests": 300, "seconds": 8.0},
    "full": {"customers": 3000, "requests": 2000, "seconds": 20.0},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build_world(home: Path, customers: int) -> dict:
    """A synthetic shop -> features -> a small LightGBM champion in a tmp registry + a snapshot."""
    import mlflow

    from common.mlflow_service import MlflowService
    from common.names import CHAMPION_ALIAS, MODEL_NAME
    from common.settings import Settings
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
    from features.ingest import ingest
    from features.publish import publish_snapshot
    from features.snapshot import build_snapshot, build_training_set, last_order_day
    from features.warehouse import connect
    from models.pyfunc import log_scorer
    from shopsim import ShopConfig, generate_shop
    from training.fit import FitConfig, fit_scorer
    from training.split import training_cutoffs

    shop = home / "shop"
    generate_shop(
        ShopConfig(customers=customers, seed=3, start=date(2023, 1, 1), end=date(2025, 6, 30)), shop
    )
    settings = Settings(home=home)
    ingest(shop, settings=settings, progress=None, data_docs=False)
    con = connect(settings.warehouse_path)
    frame = build_training_set(con, training_cutoffs(con, 90, every_days=60), horizon_days=90)
    as_of = last_order_day(con)
    snapshot = build_snapshot(con, as_of)
    con.close()
    cutoffs = sorted(frame["cutoff"].unique())
    fit, valid = frame[frame["cutoff"].isin(cutoffs[:-1])], frame[frame["cutoff"] == cutoffs[-1]]
    scorer, _ = fit_scorer(
        fit, valid, valid, FEATURE_NAMES, FEATURE_CATALOGUE_VERSION, 90, FitConfig()
    )
    uri = f"sqlite:///{home / 'mlflow.db'}"
    with MlflowService(
        uri
    ).started():  # the fluent API logs to the process-wide URI; put it back after
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.create_experiment(
            "bench", artifact_location=(home / "artifacts").as_uri()
        )
        with mlflow.start_run(experiment_id=experiment):
            log_scorer(scorer, valid, registered_model_name=MODEL_NAME)
        client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, "1")
    publish_snapshot(
        snapshot, home / "snapshots", as_of.date(), FEATURE_NAMES, FEATURE_CATALOGUE_VERSION
    )
    return {"uri": uri, "snapshot": snapshot, "feature_names": FEATURE_NAMES}


def _wait(url: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before {url} answered:\n"
                + log.read_text()[-3000:]
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {seconds}s")


def _load(
    url: str, bodies: list, headers: dict, clients: int, requests: int, seconds: float
) -> dict:
    """`clients` threads with keep-alive connections send up to `requests` requests in total."""
    latencies: list[float] = []
    errors = [0]
    counter = iter(range(requests))
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                started = time.perf_counter()
                response = client.post(url, json=bodies[i % len(bodies)])
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200 or '"status":"error"' in response.text:
                        errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "rps": round(len(latencies) / wall, 1),
        "n": len(latencies),
        "errors": errors[0],
    }


def _in_process_p50(world: dict, home: Path, with_reasons: bool) -> float:
    from features.publish import latest_pointer, load_published_snapshot
    from models.pyfunc import load_scorer
    from serving.schemas import CustomerToScore
    from serving.scoring import score_request
    from serving.state import assemble, pointer_stamp

    scorer, _ = load_scorer("models:/churnguard/1", world["uri"])
    folder = home / "snapshots"
    loaded = assemble(
        scorer, "1", load_published_snapshot(folder), pointer_stamp(latest_pointer(folder))
    )
    ids = list(world["snapshot"]["customer_id"])[:200]
    times = []
    for i in range(600):
        started = time.perf_counter()
        score_request([CustomerToScore(customer_id=ids[i % len(ids)])], loaded, with_reasons)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times[100:]) * 1000, 3)


def run(scale: str) -> dict[str, object]:
    size = SIZES[scale]
    home = Path(tempfile.mkdtemp(prefix="cg-bench-serving-"))
    processes: list[subprocess.Popen] = []
    figures: dict[str, object] = {}
    try:
        world = _build_world(home, size["customers"])
        env = {
            **os.environ,
            "CHURNGUARD_HOME": str(home),
            "MLFLOW_TRACKING_URI": world["uri"],
            "BENTOML_HOME": str(home / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "True",
            # mlflow models serve execs `uvicorn` by name: the venv's bin must be on PATH
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        from serving.keys import create_key
        from serving.launch import serve_command

        key, _ = create_key(home / "api_keys.json", "bench", "score")
        bento_port, mlflow_port = _free_port(), _free_port()
        logs = home / "logs"
        logs.mkdir()
        processes.append(
            subprocess.Popen(
                serve_command(bento_port, "127.0.0.1"),
                env=env,
                stdout=(logs / "bento.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
        processes.append(
            subprocess.Popen(
                [
                    mlflow_bin,
                    "models",
                    "serve",
                    "-m",
                    "models:/churnguard/1",
                    "--env-manager",
                    "local",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(mlflow_port),
                ],
                env=env,
                stdout=(logs / "mlflow.log").open("w"),
                stderr=subprocess.STDOUT,
                cwd=home,
            )
        )
        _wait(f"http://127.0.0.1:{bento_port}/readyz", processes[0], logs / "bento.log")
        _wait(f"http://127.0.0.1:{mlflow_port}/ping", processes[1], logs / "mlflow.log")

        snapshot = world["snapshot"]
        names = list(world["feature_names"])
        ids = list(snapshot["customer_id"])[:200]
        rows = snapshot[names].head(200).to_numpy()

        def inline(row: np.ndarray) -> dict:
            return {
                n: (None if math.isnan(v) else float(v)) for n, v in zip(names, row, strict=True)
            }

        def mlflow_row(row: np.ndarray) -> list:
            return [None if math.isnan(v) else float(v) for v in row]

        score_url = f"http://127.0.0.1:{bento_port}/score"
        auth = {"Authorization": f"Bearer {key}"}
        for reasons in (True, False):
            tag = "reasons" if reasons else "noreasons"
            figures[f"in_process_p50_ms_{tag}"] = _in_process_p50(world, home, reasons)
            by_id = [{"customers": [{"customer_id": c}], "reasons": reasons} for c in ids]
            by_features = [
                {"customers": [{"customer_id": c, "features": inline(r)}], "reasons": reasons}
                for c, r in zip(ids, rows, strict=True)
            ]
            to_mlflow = [
                {
                    "dataframe_split": {"columns": names, "data": [mlflow_row(r)]},
                    "params": {"reasons": reasons},
                }
                for r in rows
            ]
            for clients in CONCURRENCY:
                for label, url, bodies, headers in (
                    ("bento_ids", score_url, by_id, auth),
                    ("bento_inline", score_url, by_features, auth),
                    ("mlflow", f"http://127.0.0.1:{mlflow_port}/invocations", to_mlflow, {}),
                ):
                    _load(url, bodies[:20], headers, clients, 40, 5.0)  # warm up
                    result = _load(url, bodies, headers, clients, size["requests"], size["seconds"])
                    for metric, value in result.items():
                        figures[f"{label}_{tag}_c{clients}_{metric}"] = value
            base = figures[f"in_process_p50_ms_{tag}"]
            figures[f"p50_over_in_process_ms_ids_{tag}"] = round(
                figures[f"bento_ids_{tag}_c1_p50_ms"] - base, 2
            )
            for clients in CONCURRENCY:
                figures[f"throughput_ratio_vs_mlflow_inline_{tag}_c{clients}"] = round(
                    figures[f"bento_inline_{tag}_c{clients}_rps"]
                    / figures[f"mlflow_{tag}_c{clients}_rps"],
                    2,
                )
        figures["errors_total"] = sum(v for k, v in figures.items() if k.endswith("_errors"))
        return figures
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(home, ignore_errors=True)
