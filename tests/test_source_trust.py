"""``sources.yaml`` is the operator's own and may name private or loopback URLs; a source
added from chat is fetched through the SSRF guard unless ALLOW_PRIVATE_SOURCES=1
(issue 14, settings and start-up). The sources table records who declared each one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from loopback import RoutedHandler, clear_proxies, serve
from sqlalchemy import select
from test_run_process import _env

from bot.config import Settings
from bot.runtime.service import Service
from bot.store import add_source, session_scope
from bot.store.sources import FROM_CHAT, FROM_FILE, make_all_due, upsert_source
from bot.store.tables import Source

ROOT = Path(__file__).resolve().parent.parent
FEED = (
    b"<rss version='2.0'><channel><title>Intranet wire</title><item>"
    b"<title>Convoy of tanks moving towards the border</title><link>http://wire.test/1</link>"
    b"<description>Residents filmed a convoy of Russian tanks heading west.</description>"
    b"</item></channel></rss>"
)


class Wire(RoutedHandler):
    def route_feed(self) -> None:
        self._send(200, FEED, "application/rss+xml")


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    clear_proxies(monkeypatch)
    with serve(Wire) as base:
        yield base


def make_service(tmp_path: Path, sources_yaml: str) -> Service:
    """A service whose sources.yaml says ``sources_yaml``, with ALLOW_PRIVATE_SOURCES off."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_yaml, encoding="utf-8")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        sources=sources,
        watchlist_dir=ROOT / "watchlists",
        allow_private_sources=False,
    )
    running = Service(settings, {}, worker="test")
    running.load_watchlists()
    return running


@pytest.fixture
async def service(tmp_path: Path, wire: str) -> AsyncIterator[Service]:
    running = make_service(tmp_path, f"sources:\n  - name: intranet\n    url: {wire}/feed\n")
    try:
        yield running
    finally:
        await running.close()


def _id(service: Service, name: str) -> int:
    with session_scope(service.factory) as s:
        return s.scalars(select(Source.id).where(Source.name == name)).one()


async def test_a_loopback_feed_in_sources_yaml_is_polled(service: Service) -> None:
    service.sync_sources()
    report = await service.poll_source(_id(service, "intranet"))
    assert report.error is None
    assert report.stored == 1


async def test_the_same_url_added_from_chat_is_refused(service: Service, wire: str) -> None:
    with session_scope(service.factory) as s:
        add_source(s, "from-chat", f"{wire}/feed?chat", "feed")  # as addsource stores it
    report = await service.poll_source(_id(service, "from-chat"))
    assert report.error is not None and "loopback" in report.error
    assert report.stored == 0


async def test_a_row_from_before_the_origin_column_is_guarded_until_the_file_declares_it(
    service: Service, wire: str
) -> None:
    with session_scope(service.factory) as s:
        upsert_source(s, "intranet", f"{wire}/feed", "feed")  # no origin said: chat's side
        assert s.scalars(select(Source.origin)).one() == FROM_CHAT
    assert (await service.poll_source(_id(service, "intranet"))).error is not None
    service.sync_sources()
    with session_scope(service.factory) as s:
        assert s.scalars(select(Source.origin)).one() == FROM_FILE
    with session_scope(service.factory) as s:  # due again now, as run --once makes it
        make_all_due(s)
    assert (await service.poll_source(_id(service, "intranet"))).error is None


def test_run_once_polls_a_loopback_feed_named_in_sources_yaml(tmp_path: Path, wire: str) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: intranet\n    url: {wire}/feed\n", encoding="utf-8")
    env = _env(tmp_path, sources)
    env.pop("ALLOW_PRIVATE_SOURCES", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "ALLOW_PRIVATE_SOURCES" not in done.stderr
    assert "run --once: 1 source(s) ok, 0 failed; 1 new article(s)" in done.stderr


class LinkingWire(RoutedHandler):
    """A trusted feed whose entry links at a loopback page (its content, not the operator's)."""

    pages: list[str] = []

    def route_feed(self) -> None:
        port = self.server.server_address[1]
        body = (
            "<rss version='2.0'><channel><title>Wire</title><item>"
            "<title>Convoy of tanks moving towards the border</title>"
            f"<link>http://127.0.0.1:{port}/secret</link>"
            "<description>Residents filmed a convoy of Russian tanks heading west.</description>"
            "</item></channel></rss>"
        ).encode()
        self._send(200, body, "application/rss+xml")

    def route_secret(self) -> None:
        LinkingWire.pages.append(self.path)
        self._send(200, b"<html><body><p>internal</p></body></html>", "text/html")


async def test_a_trusted_feeds_links_are_still_guarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sources.yaml trusts the feed's own address, not the addresses its entries link to:
    with fetch_full, a link at a loopback page is not fetched (the teaser is kept)."""
    clear_proxies(monkeypatch)
    LinkingWire.pages = []
    with serve(LinkingWire) as base:
        running = make_service(
            tmp_path, f"sources:\n  - name: wire\n    url: {base}/feed\n    fetch_full: true\n"
        )
        try:
            running.sync_sources()
            report = await running.poll_source(_id(running, "wire"))
        finally:
            await running.close()
    assert report.error is None and report.stored == 1  # the feed itself is read
    assert LinkingWire.pages == []  # its loopback link never was
