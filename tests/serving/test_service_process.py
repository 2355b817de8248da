"""One test against the real thing: `churnguard serve` (which becomes `bentoml serve`) in a
subprocess on a loopback port, stopped with SIGTERM as systemd or a container runtime stops it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serving.keys import create_key

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
