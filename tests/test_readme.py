"""The README is true: its checked examples are what the code prints, its settings and
admin marks are the code's (issue #14)."""

from __future__ import annotations

import re
import shlex

import pytest
from test_commands_support import ROOT
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from handlers.commands import command_specs

README = (ROOT / "README.md").read_text(encoding="utf-8")
# <!-- readme-check: alertbot ARGS --> then a fenced block: the output of that command
CHECKED = re.compile(r"<!-- readme-check: alertbot (.+?) -->\n```[a-z]*\n(.*?)\n```", re.S)


def test_the_readme_has_checked_examples() -> None:
    assert CHECKED.findall(README)


@pytest.mark.parametrize(("args", "shown"), CHECKED.findall(README))
def test_each_checked_example_is_what_the_command_prints(
    args: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, shlex.split(args))
    assert result.stdout.rstrip("\n") == shown


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, name


def test_admin_marks_in_the_command_table_are_the_codes() -> None:
    admin = {s.name for s in command_specs() if s.admin_only}
    rows = re.findall(r"^\| `([a-z]+)[^`]*` \| (.*) \|$", README, re.M)
    checked = 0
    for name, rest in rows:
        if name not in {s.name for s in command_specs()} or name == "sources":
            continue  # the sources row covers three commands: checked below
        checked += 1
        assert ("(admins)" in rest) == (name in admin), name
    assert checked >= 15
    sources_row = next(line for line in README.splitlines() if line.startswith("| `sources`"))
    assert "adding/removing: admins" in sources_row and {"addsource", "removesource"} <= admin
