"""Starting the service: `bentoml serve serving.service:ChurnService` from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SERVICE = "serving.service:ChurnService"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def serve_command(port: int, host: str = "0.0.0.0") -> list[str]:
    return [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        SERVICE,
        "--port",
        str(port),
        "--host",
        host,
        "--working-dir",
        str(PROJECT_ROOT),
    ]


def serve(port: int, host: str = "0.0.0.0") -> int:
    """Run the service in the foreground until interrupted; return its exit code."""
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True"}
    try:
        return subprocess.call(serve_command(port, host), env=env)
    except KeyboardInterrupt:
        return 0
