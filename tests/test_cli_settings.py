"""A bad setting is one line naming the variable, the value and what is expected; exit 2
(issue 12, item 13), for every command that reads the settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RETENTION_DAYS", "abc", "expected a valid integer"),
        ("LOG_LEVEL", "LOUD", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("HTTP_PORT", "80x", "expected a valid integer"),
        ("ALLOW_PRIVATE_SOURCES", "maybe", "expected a valid boolean"),
    ],
)
@pytest.mark.parametrize("command", [["run", "--once"], ["chat"]])
def test_a_bad_setting_is_one_line_and_exit_2(
    command: list[str], variable: str, value: str, expected: str
) -> None:
    result = CliRunner().invoke(app, command, env={variable: value}, input="")
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"alertbot: bad setting {variable}='{value}': {expected}"
    ]
    assert "Traceback" not in result.output and "pydantic" not in result.output


def test_every_bad_variable_is_named_once() -> None:
    result = CliRunner().invoke(
        app, ["run", "--once"], env={"RETENTION_DAYS": "abc", "LOG_LEVEL": "loud"}
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert any("RETENTION_DAYS='abc'" in line for line in lines)
    assert any("LOG_LEVEL='loud'" in line for line in lines)


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert load_settings().log_level == "WARNING"


def test_a_bad_token_value_is_named_but_never_quoted() -> None:
    """A secret that fails validation is not echoed back (it may be a real token)."""
    from bot.config import _describe

    line = _describe({"loc": ("slack_bot_token",), "input": "xoxb-secret", "msg": "bad"})
    assert line == "SLACK_BOT_TOKEN=(hidden): bad"


def test_scan_knows_every_setting_name() -> None:
    """scan skips loading the settings when none is set (bot.cli.max_match_chars): that
    needs the name of every variable Settings reads."""
    from bot.cli import SETTING_NAMES
    from bot.config import Settings

    assert {name.upper() for name in Settings.model_fields} == SETTING_NAMES


def test_scan_reads_max_match_chars_from_a_dot_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No setting in the environment: a .env in the working directory still counts."""
    folder = tmp_path
    root = Path(__file__).resolve().parent.parent
    for name in list(os.environ):
        if name.upper() in {"LOG_FORMAT", "MAX_MATCH_CHARS"}:
            monkeypatch.delenv(name)
    page = folder / "page.txt"
    page.write_text("Title\n" + "troops massed at the border " * 200, encoding="utf-8")
    args = ["scan", str(page), "-w", str(root / "tests/fixtures/golden/watchlists"), "-f", "json"]
    monkeypatch.chdir(folder)
    whole = [json.loads(line) for line in CliRunner().invoke(app, args).stdout.splitlines()]
    (folder / ".env").write_text("MAX_MATCH_CHARS=1000\n", encoding="utf-8")
    cut = [json.loads(line) for line in CliRunner().invoke(app, args).stdout.splitlines()]
    assert whole and not any(r.get("truncated") for r in whole)
    assert cut and all(r["truncated"] is True for r in cut)
