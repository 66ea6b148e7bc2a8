"""The long-running job's work, called directly: poll → store → alert → push."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.runtime.delivery import AlertView
from bot.runtime.service import Service
from bot.store import Alert, ArticleRow, Source, session_scope

ROOT = Path(__file__).resolve().parent.parent

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test wire</title><link>http://wire.test/</link>
<item><title>Russian troops arrive in Belarus for joint drills</title>
<link>http://wire.test/a1</link>
<description>Several thousand soldiers and a column of tanks arrived by train in Brest region.</description></item>
<item><title>Markets close higher on Friday</title><link>http://wire.test/a2</link>
<description>Shares rose across Europe as investors bought banks.</description></item>
</channel></rss>"""

REQUESTS: list[str] = []


class Wire(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        REQUESTS.append(self.path)
        if self.path == "/feed":
            if self.headers.get("If-None-Match") == '"w1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", '"w1"')
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            self.wfile.write(FEED)
        else:
            self.send_error(500, "broken")


@pytest.fixture(scope="module")
def wire() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Wire)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class Recorder:
    platform = "console"
    min_interval = 0.0

    def __init__(self) -> None:
        self.sent: list[tuple[str, AlertView]] = []

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        self.sent.append((chat_key, alert))
        return str(len(self.sent))


def make_service(
    tmp_path: Path, wire: str, recorder: Recorder, watchlists: Path = ROOT / "watchlists"
) -> Service:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: wire\n    url: {wire}/feed\n    kind: feed\n"
        f"  - name: broken\n    url: {wire}/broken\n    kind: feed\n",
        encoding="utf-8",
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        sources=sources,
        watchlist_dir=watchlists,
        allow_private_sources=True,
    )
    service = Service(settings, {"console": recorder}, worker="test")
    service.load_watchlists()
    service.sync_sources()
    service.subscribe_console()
    return service


def _source_id(service: Service, name: str) -> int:
    with session_scope(service.factory) as s:
        return s.scalars(select(Source.id).where(Source.name == name)).one()


def _make_due(service: Service) -> None:
    from bot.store.sources import make_all_due

    with session_scope(service.factory) as s:
        make_all_due(s)


async def test_poll_stores_alerts_and_pushes_once(tmp_path: Path, wire: str) -> None:
    recorder = Recorder()
    service = make_service(tmp_path, wire, recorder)
    try:
        report = await service.poll_source(_source_id(service, "wire"))
        assert report.polled and report.error is None
        assert report.articles == 2 and report.stored == 2
        assert report.alerts
        await service.drain_outbox()
        titles = {a.title for _, a in recorder.sent}
        assert titles == {"Russian troops arrive in Belarus for joint drills"}
        pushed = len(recorder.sent)
        # not due yet: nobody polls it again
        assert not (await service.poll_source(_source_id(service, "wire"))).polled
        # due again: a conditional GET, 304, nothing new, nothing pushed twice
        _make_due(service)
        again = await service.poll_source(_source_id(service, "wire"))
        assert again.polled and again.articles == 0
        await service.drain_outbox()
        assert len(recorder.sent) == pushed
        with session_scope(service.factory) as s:
            assert s.scalar(select(func.count()).select_from(ArticleRow)) == 2
            assert s.scalar(select(Source.etag).where(Source.name == "wire")) == '"w1"'
    finally:
        await service.close()


async def test_failing_source_records_health_and_backs_off(tmp_path: Path, wire: str) -> None:
    service = make_service(tmp_path, wire, Recorder())
    try:
        sid = _source_id(service, "broken")
        report = await service.poll_source(sid)
        assert report.error and "500" in report.error
        with session_scope(service.factory) as s:
            src = s.get(Source, sid)
            assert src is not None
            assert src.consecutive_failures == 1
            assert src.last_error and "500" in src.last_error
            first_retry = src.next_poll_at
        _make_due(service)
        await service.poll_source(sid)
        with session_scope(service.factory) as s:
            src = s.get(Source, sid)
            assert src is not None and src.consecutive_failures == 2
            assert src.next_poll_at - src.last_error_at > first_retry - src.created_at  # backs off
    finally:
        await service.close()


async def test_watchlist_change_applies_to_the_next_article(tmp_path: Path, wire: str) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "markets.yaml").write_text("name: markets\nkeywords: [shares]\n", encoding="utf-8")
    service = make_service(tmp_path, wire, Recorder(), watchlists=lists)
    try:
        assert [wl.name for wl in service.matcher.watchlists] == ["markets"]
        assert not await service.reload_watchlists()  # unchanged: no recompile
        (lists / "markets.yaml").write_text("name: markets\nkeywords: [banks]\n", encoding="utf-8")
        assert await service.reload_watchlists()
        assert [k.term for k in service.matcher.watchlists[0].keywords] == ["banks"]
        (lists / "markets.yaml").write_text("name: markets\nrule: (banks\n", encoding="utf-8")
        await service.reload_watchlists()
        assert [k.term for k in service.matcher.watchlists[0].keywords] == ["banks"]  # kept
        await service.poll_source(_source_id(service, "wire"))
        with session_scope(service.factory) as s:
            assert s.scalars(select(Alert.watchlist)).all() == ["markets"]
    finally:
        await service.close()


async def test_a_watchlist_edited_in_the_database_wins_over_its_file(
    tmp_path: Path, wire: str
) -> None:
    from bot.store.watchlists import save_watchlist

    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "markets.yaml").write_text("name: markets\nkeywords: [shares]\n", encoding="utf-8")
    service = make_service(tmp_path, wire, Recorder(), watchlists=lists)
    try:
        with session_scope(service.factory) as s:
            save_watchlist(s, "markets", "name: markets\nkeywords: [bonds]\n", updated_by="chat:1")
        assert await service.reload_watchlists()
        assert [k.term for k in service.matcher.watchlists[0].keywords] == ["bonds"]
        (lists / "markets.yaml").write_text("name: markets\nkeywords: [gold]\n", encoding="utf-8")
        await service.reload_watchlists()
        assert [k.term for k in service.matcher.watchlists[0].keywords] == ["bonds"]
    finally:
        await service.close()


STORED_BAD = """\
import logging, sys
from pathlib import Path
from bot.config import Settings
from bot.models import Article
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.watchlists import save_watchlist

logging.basicConfig(level=logging.ERROR, stream=sys.stdout, format="%(levelname)s %(message)s")
tmp = Path(sys.argv[1])
settings = Settings(database_url=f"sqlite:///{tmp / 'a.db'}", watchlist_dir=tmp / "none")
service = Service(settings, {}, worker="test")
with session_scope(service.factory) as s:  # stored before the limits existed
    save_watchlist(s, "huge", "name: huge\\nkeywords: ['" + "\\ufdfa" * 40000 + "']\\n")
    save_watchlist(s, "markets", "name: markets\\nkeywords: [shares]\\n")
for _ in range(2):  # the next reload crashed the process: the automaton is freed
    service.load_watchlists()
article = Article(title="Shares rise", text="Shares rose in Europe.")
print("loaded", [wl.name for wl in service.matcher.watchlists])
print("matched", [m.watchlist for m in service.matcher.match(article)])
"""


def test_a_stored_watchlist_over_the_limits_is_an_error_for_it_alone(tmp_path: Path) -> None:
    """A watchlist saved with a 680,000-character term killed ``alertbot run`` (SIGSEGV) on
    every reload; in a child process, so the crash it was is a failure, not the end of the run."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", STORED_BAD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[-2:] == ["loaded ['markets']", "matched ['markets']"]
    errors = [line for line in lines if line.startswith("ERROR")]
    assert len(errors) == 2 and "watchlist huge: keywords[0]: " in errors[0]
    assert "a term has at most 200 characters" in errors[0] and len(errors[0]) < 300


def test_a_watchlist_the_matcher_cannot_hold_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    """Made without the file checks (the matcher's own guard): the others still compile."""
    from bot.engine.watchlist import Keyword, Watchlist

    huge = Watchlist(name="huge", keywords=[Keyword("troops " * 1000)])
    markets = Watchlist(name="markets", keywords=[Keyword("shares")])
    matcher = Service._compile([huge, markets])
    assert [wl.name for wl in matcher.watchlists] == ["markets"]
    assert "watchlist huge: 'troops troops" in caplog.text
    assert "a term has at most 200 characters and 20 words" in caplog.text


async def test_a_folder_sources_alerts_name_the_declared_source(tmp_path: Path) -> None:
    inbox = tmp_path / "drop-folder"
    inbox.mkdir()
    (inbox / "story.txt").write_text(
        "Russian troops arrive in Belarus for joint drills\n\n"
        "Several thousand soldiers and a column of tanks arrived by train in Brest region.\n",
        encoding="utf-8",
    )
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: desk-inbox\n    path: {inbox}\n    kind: folder\n", encoding="utf-8"
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        sources=sources,
        watchlist_dir=ROOT / "watchlists",
    )
    recorder = Recorder()
    service = Service(settings, {"console": recorder}, worker="test")
    service.load_watchlists()
    service.sync_sources()
    service.subscribe_console()
    try:
        report = await service.poll_source(_source_id(service, "desk-inbox"))
        assert report.alerts
        await service.drain_outbox()
        assert {a.source for _, a in recorder.sent} == {"desk-inbox"}  # not "drop-folder"
    finally:
        await service.close()
