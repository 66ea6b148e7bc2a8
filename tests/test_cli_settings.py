"""A bad setting is one line naming the variable, the value and what is expected; exit 2
(issue 12, item 13), for every command that reads the settings."""

from __future__ import annotations

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
