"""One test against the real thing: `churnguard serve` (which becomes `bentoml serve`) in a
subprocess on a loopback port, stopped with SIGTERM as systemd or a container runtime stops it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from serving.keys import create_key
from serving.launch import serve_command

CHURNGUARD = Path(sys.executable).with_name("churnguard")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.slow
@pytest.mark.service
def test_churnguard_serve_answers_score_and_sigterm_frees_the_port(
    serving_home, serving_world, tmp_path
):
    key, _ = create_key(serving_home / "api_keys.json", "crm", "score")
    admin, _ = create_key(serving_home / "api_keys.json", "ops", "admin")
    port = _free_port()
    env = {
        **os.environ,
        "CHURNGUARD_HOME": str(serving_home),
        "BENTOML_HOME": str(tmp_path / "bentoml"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # bentoml serve sets up its own
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(CHURNGUARD), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so cleanup can reach any orphan
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, ready = time.monotonic() + 90, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, (tmp_path / "serve.log").read_text()[
            -3000:
        ]
        assert ready.json()["model_version"] == "1"
        customer = serving_world.customer_ids[0]
        response = httpx.post(
            f"{base}/score",
            json={"customers": [{"customer_id": customer}, {"customer_id": "ghost"}]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert response.status_code == 200
        scored, ghost = response.json()["results"]
        assert scored["customer_id"] == customer and scored["status"] == "scored"
        assert ghost["error"] == "unknown_customer"
        assert httpx.post(f"{base}/score", json={}, timeout=10).status_code == 401
        metrics = httpx.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {admin}"}, timeout=10
        )
        assert "churnguard_score_customers_total" in metrics.text
        assert customer not in (tmp_path / "serve.log").read_text()

        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not _port_is_free(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _port_is_free(port), "a process still holds the port after SIGTERM"
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):  # anything left in its group (none, if fixed)
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@contextmanager
def _served(home, tmp_path, **env_extra):
    """`bentoml serve` on a free loopback port until ready; yields (base URL, process, log path)."""
    port = _free_port()
    env = {**os.environ, "CHURNGUARD_HOME": str(home), "BENTOML_HOME": str(tmp_path / "bentoml")}
    env.update(env_extra)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        serve_command(port, host="127.0.0.1"), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, ready = time.monotonic() + 90, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, log_path.read_text()[-3000:]
        yield base, process, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.slow
@pytest.mark.service
def test_a_truncated_champion_is_refused_on_reload_and_the_old_one_keeps_serving(
    serving_home, serving_world, tmp_path
):
    """The red team's fault: v2's booster cut to 50,000 bytes, then named champion. LightGBM would
    abort the worker; the probe refuses v2 with the reason and v1 keeps answering."""
    import sqlite3

    import mlflow

    from common.names import CHAMPION_ALIAS, MODEL_NAME

    key, _ = create_key(serving_home / "api_keys.json", "crm", "score")
    with sqlite3.connect(serving_home / "mlflow.db") as db:
        (location,) = db.execute(
            "SELECT storage_location FROM model_versions WHERE version = 2"
        ).fetchone()
    storage = Path(location.removeprefix("file://"))
    backup = tmp_path / "v2-backup"
    shutil.copytree(storage, backup)
    (booster,) = storage.rglob("booster.txt")
    customer = {"customers": [{"customer_id": serving_world.customer_ids[0]}]}
    headers = {"Authorization": f"Bearer {key}"}
    try:
        booster.write_bytes(booster.read_bytes()[: min(50_000, booster.stat().st_size // 2)])
        with _served(serving_home, tmp_path, CHURNGUARD_RELOAD_INTERVAL_SECONDS="0.5") as (
            base,
            process,
            log_path,
        ):
            uri = f"sqlite:///{serving_home / 'mlflow.db'}"
            client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.set_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS, "2")
            deadline, report = time.monotonic() + 120, {}
            while time.monotonic() < deadline and not report.get("last_reload_error"):
                time.sleep(0.5)
                report = httpx.get(f"{base}/readyz", timeout=5).json()
            assert "cannot load version 2" in (report.get("last_reload_error") or ""), (
                log_path.read_text()[-3000:]
            )
            assert "SIGABRT" in report["last_reload_error"]
            assert report["ready"] is True and report["model_version"] == "1"
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            scored = httpx.post(f"{base}/score", json=customer, headers=headers, timeout=10)
            assert scored.status_code == 200
            assert scored.json()["results"][0]["model_version"] == "1"
            assert process.poll() is None
            assert "terminate called" not in log_path.read_text()
    finally:
        shutil.rmtree(storage)
        shutil.copytree(backup, storage)
