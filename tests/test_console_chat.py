"""The chat commands at a terminal prompt (``handlers.console.repl``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from loopback import clear_proxies, serve
from test_commands import Site
from test_commands_support import ADMIN, DEMO_YAML, SLACK, make_alert, make_service, say, service

from bot.bundled import default_data_dir
from bot.config import Settings
from bot.runtime.delivery import alert_view
from bot.runtime.service import Service
from bot.store import get_alert, session_scope
from bot.store.tables import Feedback
from handlers.commands import handle_button
from handlers.console import CONSOLE_CONTEXT, ConsoleNotifier, repl

__all__ = ["service"]  # the fixture


async def run(service: Service, lines: str) -> str:
    out = io.StringIO()
    await repl(service, io.StringIO(lines), out)
    return out.getvalue()


async def test_repl_answers_each_line_until_quit(service: Service) -> None:
    out = await run(service, "help\n\nshow demo\nexport demo\nquit\nwatchlists\n")
    assert "alertbot watches news sources" in out
    assert "new <wl> [description] (admins)" in out  # console commands have no prefix
    assert "more — the next page of the last alerts listing." in out
    assert "import <path> (admins) — import a watchlist file (YAML, as export writes it)" in out
    assert "Each command's example: help <command>" in out
    assert "Wagner Group — aka Wagner, PMC Wagner" in out
    size = len(DEMO_YAML.encode("utf-8"))
    saved = service.settings.exports_folder().resolve() / "demo.yaml"
    assert f"[saved {saved} ({size:,} bytes)]" in out
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
    out = await run(
        service, f"help import\nimport\nimport {path}\nimport {tmp_path / 'missing.yaml'}\nexit\n"
    )
    assert out.startswith("import <path>\nImport a watchlist file (YAML, as export writes it)")
    assert "To import a watchlist, give its file: import <path> (get one with export <wl>)." in out
    assert "Created watchlist ferries from ferries.yaml (2 terms)." in out
    assert "Cannot read" in out and "missing.yaml" in out
    assert "ferries" in {w.name for w in service.matcher.watchlists}


async def test_attachments_are_saved_in_the_export_folder_never_overwritten(
    tmp_path: Path,
) -> None:
    exports = tmp_path / "my exports"
    svc = make_service(tmp_path, export_dir=exports)
    try:
        make_alert(svc)
        (exports).mkdir()
        (exports / "demo.yaml").write_text("mine, keep me\n", encoding="utf-8")
        out = await run(svc, "export demo\nexport demo\ntrend demo 7d\n")
    finally:
        await svc.close()
    assert (exports / "demo.yaml").read_text(encoding="utf-8") == "mine, keep me\n"
    assert (exports / "demo-2.yaml").read_text(encoding="utf-8") == DEMO_YAML
    assert (exports / "demo-3.yaml").read_text(encoding="utf-8") == DEMO_YAML
    png = exports / "trend-demo.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    for path in ("demo-2.yaml", "demo-3.yaml", "trend-demo.png"):
        assert f"[saved {exports.resolve() / path} (" in out


async def test_an_export_folder_that_cannot_be_made_says_so_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    svc = make_service(tmp_path, export_dir=blocker / "exports")
    try:
        out = await run(svc, "export demo\nshow demo\n")
    finally:
        await svc.close()
    assert "demo.yaml — edit it and import it with import <path>." in out
    line = next(x for x in out.splitlines() if x.startswith("[demo.yaml"))
    assert line.startswith("[demo.yaml, ") and "not saved:" in line and "exports" in line
    assert "Wagner Group — aka Wagner, PMC Wagner" in out  # the next command still runs


def test_the_default_export_folder_is_next_to_the_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "db" / "alertbot.db"
    assert Settings(database_url=f"sqlite:///{db}").exports_folder() == db.parent / "exports"
    assert Settings().exports_folder() == default_data_dir() / "exports"  # the default db's
    server = Settings(database_url="postgresql+psycopg://u:p@127.0.0.1/test")
    assert server.exports_folder() == default_data_dir() / "exports"
    assert Settings(export_dir=tmp_path / "x").exports_folder() == tmp_path / "x"


async def test_each_alert_printed_in_the_terminal_shows_its_buttons_as_commands(
    service: Service,
) -> None:
    """The command forms under a pushed alert do what its buttons do, in every face."""
    await run(service, "subscribe demo\n")
    ident = make_alert(service)
    with session_scope(service.factory) as session:
        view = alert_view(get_alert(session, ident))
    pushed = io.StringIO()
    await ConsoleNotifier(pushed, color=False).send_alert("console:local", view)
    forms = pushed.getvalue().strip().splitlines()[-1].strip()
    assert forms == (
        f"explain {ident} · mute demo 24h · unsubscribe demo · feedback {ident} relevant|not"
    )
    explain, mute, unsubscribe, feedback = forms.split(" · ")
    commands = [explain, mute, feedback.replace("relevant|not", "not"), unsubscribe]
    out = await run(service, "\n".join(commands) + "\n")
    assert f"Why alert #{ident} fired — demo" in out
    assert "Muted demo until " in out
    assert "Thanks — noted as not relevant." in out
    assert "Unsubscribed: no more alerts from demo here." in out
    # the same command forms in Telegram and Slack, as the buttons would answer
    for ctx, typed_prefix in ((ADMIN, "/"), (SLACK, "")):  # Slack: the slash command's text
        await say(service, ctx, f"{typed_prefix}subscribe demo")
        for command, button in [
            (explain, f"ex:{ident}"),
            (mute, "mu:demo:24h"),
            (feedback.replace("relevant|not", "relevant"), f"fb:{ident}:1"),
            (unsubscribe, "un:demo"),
        ]:
            typed = await say(service, ctx, typed_prefix + command)
            if command == unsubscribe:
                await say(service, ctx, f"{typed_prefix}subscribe demo")
            pressed = await handle_button(service, ctx, button)
            assert not typed.error, (command, typed.plain_text)
            if button.startswith("fb:"):  # the same verdict again: counted once, and said so
                assert pressed.plain_text == "Already noted as relevant (counted once)."
                continue
            assert typed.plain_text == pressed.plain_text, command
    with session_scope(service.factory) as session:
        votes = {(f.user_id, f.relevant) for f in session.query(Feedback)}
    assert votes == {("console", False), ("telegram:1", True), ("slack:U1", True)}


async def test_feedback_arguments_are_one_line_with_usage(service: Service) -> None:
    ident = make_alert(service)
    out = await run(
        service,
        f"feedback {ident}\nfeedback {ident} maybe\nfeedback x relevant\nfeedback 999 yes\n",
    )
    lines = out.splitlines()
    usage = "Usage: feedback <alert-id> relevant|not"
    assert lines[0] == f"Say whether alert #{ident} was relevant or not. {usage}"
    assert lines[1] == f"'maybe' is not a verdict (relevant or not). {usage}"
    assert lines[2] == f"'x' is not an alert number. {usage}"
    assert lines[3] == f"No alert #999. {usage}"


async def test_addsource_in_the_terminal_checks_the_url_and_says_nothing_polls_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxies(monkeypatch)
    Site.requests = []
    with serve(Site) as site:
        svc = make_service(tmp_path, allow_private_sources=True)
        try:
            out = await run(svc, f"addsource {site}/gone.xml Gone\naddsource {site}/rss/a.xml\n")
        finally:
            await svc.close()
    first, second = out.splitlines()
    assert first == f"Not added: {site}/gone.xml: HTTP 404 Not Found."
    assert second == (
        "Added source #3 127.0.0.1 (feed, every 15m); "
        "it will be polled when alertbot run runs (alertbot chat polls nothing)."
    )
    assert Site.requests == ["/gone.xml", "/rss/a.xml"]
