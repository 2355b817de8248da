"""What a newcomer runs works as printed: `make demo`'s own suggestions and the README's examples,
executed on the demo's data (the default demo: 3,000 customers, seed 42), as a user would type them."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from churnguard.docs import README

VENV_BIN = Path(sys.executable).parent
REPO = README.parent
EXAMPLE_MARK = "<!-- example: runs on the demo's data"


@dataclass(frozen=True)
class Demo:
    root: Path  # the "repository root" the examples run from: its .churnguard is the demo's home
    output: str
    steps: object  # churnguard.demo.NextSteps


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from churnguard.demo import run_demo
    from churnguard.logs import set_up_logging
    from common.settings import Settings

    root = tmp_path_factory.mktemp("newcomer")
    set_up_logging("INFO")
    buffer = io.StringIO()
    console = Console(file=buffer, width=140)
    steps = run_demo(Settings(home=root / ".churnguard"), say=console.print)
    return Demo(root, buffer.getvalue(), steps)


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURNGUARD_", "MLFLOW_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _cli(line: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """A `churnguard ...` line as typed, run in this process (a subprocess per line costs seconds
    of imports each) from `root`, with the environment a newcomer has: no CHURNGUARD_ settings."""
    from typer.testing import CliRunner

    from churnguard.cli import app

    words = shlex.split(line)
    assert words[0] in ("churnguard", ".venv/bin/churnguard"), line
    with monkeypatch.context() as patch:
        patch.chdir(root)
        for name in [k for k in os.environ if k.startswith(("CHURNGUARD_", "MLFLOW_"))]:
            patch.delenv(name)
        result = CliRunner().invoke(app, words[1:], terminal_width=140)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _run(line: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # The demo prints `.venv/bin/churnguard`, relative to the repository root; here the root is
    # `root`, whose .venv is the one running the tests.
    line = line.replace(".venv/bin/", f"{VENV_BIN}/")
    return subprocess.run(
        ["bash", "-c", line], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def readme_examples() -> list[str]:
    """The bash blocks the README marks as running on the demo's data, in order."""
    text = README.read_text()
    blocks = re.findall(re.escape(EXAMPLE_MARK) + r"[^\n]*\n```bash\n(.*?)```", text, re.S)
    assert len(blocks) >= 2, "the README marks no examples"
    return blocks


@pytest.mark.slow
def test_the_demo_says_little_and_ends_with_where_to_look(demo: Demo) -> None:
    lines = demo.output.rstrip().splitlines()
    assert len(lines) <= 40, demo.output
    assert "INFO" not in demo.output and "WARNING" not in demo.output, demo.output
    assert any(line.startswith("where to look next") for line in lines[-12:])
    assert f"queue of {demo.steps.queue_date}" in demo.output


@pytest.mark.slow
def test_every_command_the_demo_suggests_works_as_printed(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    suggested = re.findall(r"(\.venv/bin/churnguard [^\n(]*?)\s*(?:\(|$)", demo.output, re.M)
    assert len(suggested) >= 4, demo.output
    for command in suggested:
        code, output = _cli(command, demo.root, monkeypatch)
        assert code == 0, (command, output[-2000:])
        assert output.strip(), command
    export = Path(str(demo.steps.export))
    assert export.exists() and export.read_text().count("\n") > 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.service
def test_the_readme_examples_run_on_the_demo_data(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(demo.root)
    cli_block, api_block, *_ = readme_examples()
    for line in cli_block.strip().splitlines():
        command = line.split("  #")[0].strip()
        code, output = _cli(command, demo.root, monkeypatch)
        assert code == 0, (command, output[-2000:])
        if command.startswith("churnguard report"):
            assert "nan" not in output and "No horizon has passed yet" in output
        if command.startswith("churnguard queue list"):
            assert "queue of 2025-07-01" in output

    port = _free_port()
    log = (demo.root / "serve.log").open("w")
    server = subprocess.Popen(
        [str(VENV_BIN / "churnguard"), "serve", "--port", str(port)],
        cwd=demo.root,
        env={**env, "BENTOML_HOME": str(demo.root / "bentoml")},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail((demo.root / "serve.log").read_text()[-3000:])
        script = api_block.replace("localhost:3000", f"127.0.0.1:{port}")
        lines = [line for line in script.replace("\\\n", " ").splitlines() if line.strip()]
        outputs = []
        for line in lines:
            if line.startswith("curl"):
                # each curl's body, one per line, so the test can read them
                line = f"{line} -w '\\n'"
            outputs.append(line)
        result = _run("set -e\n" + "\n".join(outputs), demo.root, env)
        assert result.returncode == 0, (result.stdout, result.stderr)
        scored, queue = (json.loads(body) for body in result.stdout.strip().splitlines())
        assert [r["status"] for r in scored["results"]] == ["scored", "scored"], scored
        assert scored["results"][0]["risk_band"] == "high"
        assert queue["queue_date"] == "2025-07-01" and queue["items"], queue
        assert shlex.split(lines[0])  # the README's lines are valid shell
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
