"""``--version``, ``-h`` and readable help (issue 14, settings and start-up)."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from bot.cli import app

COMMANDS = ["scan", "eval", "run", "chat"]


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"alertbot {version('alertbot')}"


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_dash_h_is_help_for_every_command(command: list[str]) -> None:
    short = CliRunner().invoke(app, [*command, "-h"], terminal_width=100)
    long = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert short.exit_code == 0, short.output
    assert "Usage: alertbot" in short.output
    assert short.output == long.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_python_type_placeholders(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0
    out = result.output
    assert "<bool>" not in out and "list[" not in out and "<path>" not in out
    assert not re.search(r"\{\w+\}", out), out  # typer's {inputs}... usage form


def test_scan_usage_names_its_inputs_plainly() -> None:
    out = CliRunner().invoke(app, ["scan", "--help"], terminal_width=100).output
    assert "Usage: alertbot scan [OPTIONS] INPUT..." in out
    assert "--watchlists" in out and "DIR" in out
