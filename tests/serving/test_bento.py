"""`bentoml build` packages the service and what it imports, and leaves the shell and the simulator out."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_architecture import PACKAGES

ROOT = Path(__file__).resolve().parents[2]


def imported_top_level(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.slow
def test_bento_holds_the_service_without_the_simulator_or_the_cli(tmp_path: Path):
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    bentoml = Path(sys.executable).with_name("bentoml")
    subprocess.run(
        [str(bentoml), "build", "-q"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    (src,) = (tmp_path / "bentoml" / "bentos" / "churnguard").glob("*/src")
    packaged = {path.name for path in src.iterdir() if path.is_dir()}
    assert packaged == {"common", "features", "models", "serving", "outreach"}
    needed = set().union(*(imported_top_level(path) for path in src.rglob("*.py")))
    assert needed & set(PACKAGES) <= packaged, "the service imports a package the Bento lacks"
