"""Starting the service: `bentoml serve serving.service:ChurnService` from the repository root.

`churnguard serve` replaces its own process with `bentoml serve` (exec): a SIGTERM from systemd, a
container runtime or a supervisor then reaches BentoML itself, which stops its workers and frees
the port. A child process would be orphaned holding the port.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

SERVICE = "serving.service:ChurnService"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOST = "127.0.0.1"


def serve_command(port: int, host: str = DEFAULT_HOST) -> list[str]:
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


def serve(port: int, host: str = DEFAULT_HOST) -> NoReturn:
    """Become the service process (never returns): signals go straight to BentoML."""
    sys.stdout.flush()
    sys.stderr.flush()
    from common.settings import get_settings

    command = serve_command(port, host)
    # bentoml serve runs from the repository root: a relative CHURNGUARD_HOME must not move with it.
    home = str(get_settings().home_dir)
    os.execve(
        command[0], command, {**os.environ, "BENTOML_DO_NOT_TRACK": "True", "CHURNGUARD_HOME": home}
    )
