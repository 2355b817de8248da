"""The layers hold: ground <- stages <- shell, and only the shell, tests and benchmarks use the simulator."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from itertools import permutations
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
# The project's packages as the import contracts name them: one list, in pyproject.toml.
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)


def test_import_contracts_in_pyproject_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_import_cycle_between_packages():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = [
        (a, b)
        for a, b in permutations(PACKAGES, 2)
        if a < b
        and graph.direct_import_exists(importer=a, imported=b, as_packages=True)
        and graph.direct_import_exists(importer=b, imported=a, as_packages=True)
    ]
    assert cycles == []


def test_the_ground_imports_no_project_package():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    imported = {
        module.split(".")[0] for module in graph.find_upstream_modules("common", as_package=True)
    }
    assert imported <= {"common"}
