"""Which database and watchlist folder a command works on (issue 14, settings and start-up).

The default database is one place — the clone's ``data/`` or, installed, the
per-user data folder — never the working directory's ``data/``; ``run`` and
``chat`` say at start which database (absolute, password hidden) and which
watchlist folder they use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bundled import default_database_url
from bot.config import Settings
from bot.store.db import describe_database

ROOT = Path(__file__).resolve().parent.parent


def test_in_a_clone_the_default_database_is_the_clones_wherever_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    expected = f"sqlite:///{ROOT / 'data' / 'alertbot.db'}"
    assert default_database_url() == expected
    assert Settings(_env_file=None).database_url == expected  # type: ignore[call-arg]


def test_the_database_is_described_absolute_and_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert describe_database("sqlite:///rel/a.db") == f"sqlite:///{tmp_path / 'rel' / 'a.db'}"
    shown = describe_database("postgresql://bob:s3cret@db.example/alerts")
    assert shown == "postgresql+psycopg://bob:***@db.example/alerts"
    assert describe_database("sqlite://") == "sqlite://"


def _where(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "database sqlite:///" in line]


@pytest.mark.parametrize("command", ["chat", "run"])
def test_chat_and_run_say_which_database_and_watchlists_at_start(
    tmp_path: Path, command: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources: []\n", encoding="utf-8")
    env = dict(os.environ)
    env.update(
        DATABASE_URL="sqlite:///rel.db",  # relative: to the folder the command runs in
        WATCHLIST_DIR=str(ROOT / "watchlists"),
        SOURCES=str(sources),
        LOG_LEVEL="WARNING",  # the line is printed even when INFO lines are not
    )
    for token in ("TELEGRAM_TOKEN", "SLACK_BOT_TOKEN"):
        env.pop(token, None)
    args = ["chat"] if command == "chat" else ["run", "--once"]
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=elsewhere,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = _where(done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(
        f"database sqlite:///{elsewhere / 'rel.db'}; watchlists {ROOT / 'watchlists'}"
    )
