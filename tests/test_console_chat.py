"""The chat commands at a terminal prompt (``handlers.console.repl``)."""

from __future__ import annotations

import io
from pathlib import Path

from test_commands_support import DEMO_YAML, service

from bot.runtime.service import Service
from handlers.console import CONSOLE_CONTEXT, repl

__all__ = ["service"]  # the fixture


async def run(service: Service, lines: str) -> str:
    out = io.StringIO()
    await repl(service, io.StringIO(lines), out)
    return out.getvalue()


async def test_repl_answers_each_line_until_quit(service: Service) -> None:
    out = await run(service, "help\n\nshow demo\nexport demo\nquit\nwatchlists\n")
    assert "alertbot watches news sources" in out
    assert "new <wl> [description] (admins)" in out  # console commands have no prefix
    assert "Wagner Group — aka Wagner, PMC Wagner" in out
    size = len(DEMO_YAML.encode("utf-8"))
    assert f"[attachment: demo.yaml, {size} bytes]" in out
    assert "Watchlists (" not in out  # after quit


async def test_repl_is_an_admin_in_a_private_chat_and_stops_at_eof(service: Service) -> None:
    assert CONSOLE_CONTEXT.is_admin and CONSOLE_CONTEXT.is_private
    assert CONSOLE_CONTEXT.chat_key == "console:local"
    out = await run(service, "new notes My notes\nadd notes keyword ferry\nsubscribe notes\nnope")
    assert "Created watchlist notes." in out
    assert "Added keyword 'ferry' to notes (1 term)." in out
    assert "Subscribed: this chat gets an alert as soon as an article matches from notes." in out
    assert "Unknown command 'nope' — send help for the list." in out


async def test_repl_imports_a_file_from_disk(service: Service, tmp_path: Path) -> None:
    path = tmp_path / "ferries.yaml"
    path.write_text("name: ferries\nkeywords: [ferry, ferries]\n", encoding="utf-8")
    out = await run(service, f"import {path}\nimport {tmp_path / 'missing.yaml'}\nexit\n")
    assert "Created watchlist ferries from ferries.yaml (2 terms)." in out
    assert "Cannot read" in out and "missing.yaml" in out
    assert "ferries" in {w.name for w in service.matcher.watchlists}
