"""The README stays true: generated sections are current and every command it shows exists."""

from __future__ import annotations

import re
import subprocess

from typer.main import get_command

from churnguard.cli import app
from churnguard.docs import README, generated_sections, render


def test_generated_sections_are_current() -> None:
    readme = README.read_text()
    assert render(readme, generated_sections()) == readme, (
        "README is stale: run `.venv/bin/python -m churnguard.docs`"
    )


def test_every_churnguard_command_in_the_readme_exists() -> None:
    commands = set(get_command(app).commands)
    shown = set(re.findall(r"(?m)(?:^|`|/bin/|\$\()churnguard ([a-z-]+)", README.read_text()))
    assert shown, "the README shows no churnguard command"
    assert shown <= commands, f"README shows commands that do not exist: {shown - commands}"


def test_every_make_target_in_the_readme_exists() -> None:
    targets = set(re.findall(r"make ([a-z-]+)", README.read_text())) - {"alone"}
    help_text = subprocess.run(
        ["make", "-s", "help"], cwd=README.parent, capture_output=True, text=True, check=True
    ).stdout
    assert targets <= set(re.findall(r"make ([a-z-]+)", help_text))


TOP_LEVEL = (
    "common",
    "features",
    "training",
    "models",
    "serving",
    "outreach",
    "churnguard",
    "shopsim",
    "bench",
    "tests",
    ".ci",
)


PROJECT_PATH = re.compile(r"`((?:" + "|".join(map(re.escape, TOP_LEVEL)) + r")/[A-Za-z0-9_./-]*)`")


def test_every_project_path_the_docs_name_exists() -> None:
    for doc in (README, README.parent / "DEVELOPERS.md"):
        named = set(PROJECT_PATH.findall(doc.read_text()))
        assert named, f"{doc.name} names no project path"
        missing = sorted(path for path in named if not (README.parent / path).exists())
        assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_help_lists_commands_in_the_datas_order_without_bool_placeholders() -> None:
    from typer.testing import CliRunner

    from churnguard.cli import WORKFLOW

    runner = CliRunner()
    top = runner.invoke(app, ["--help"], terminal_width=100)
    assert top.exit_code == 0
    listed = re.findall(r"(?m)^│ ([a-z]+) ", top.output.split("Commands")[1])
    assert [name for name in listed if name in WORKFLOW] == list(WORKFLOW), top.output
    for command in (["--help"], ["train", "--help"], ["features", "--help"], ["queue", "--help"]):
        shown = runner.invoke(app, command, terminal_width=100).output
        assert "<bool>" not in shown, shown
    train = runner.invoke(app, ["train", "--help"], terminal_width=200).output
    assert "becomes champion even without --promote" in " ".join(train.split())
