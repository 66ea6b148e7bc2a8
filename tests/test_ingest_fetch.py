"""fetch() and URL inputs against a real HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from loopback import RoutedHandler, clear_proxies, serve

from bot.ingest import (
    FetchError,
    IngestError,
    articles_from_fetch,
    fetch,
    fetch_sync,
    iter_inputs,
    read_input,
)
from bot.ingest.fetch import USER_AGENT

FIXTURES = Path(__file__).parent / "fixtures"
PAGE = b"<html><head><title>Local</title></head><body><p>Hello from the local server.</p></body></html>"
STREAMED: dict[str, int] = {}  # path -> bytes the server managed to send


class Handler(RoutedHandler):
    """Routes for each behaviour under test; HTTP/1.0, so the body ends when the socket does."""

    def route_ok(self) -> None:
        self._send(200, PAGE)

    def route_ua(self) -> None:
        self._send(200, self.headers.get("User-Agent", "").encode(), "text/plain")

    def route_etag(self) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        self._send(200, PAGE, ETag='"v1"', Last_Modified="Wed, 01 May 2024 10:00:00 GMT")

    def route_error(self) -> None:
        self._send(500, b"boom")

    def route_big(self) -> None:
        """An endless body: the client must stop reading, not the server."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        sent = 0
        try:
            while sent < 200_000_000:
                self.wfile.write(b"x" * 65536)
                sent += 65536
        except OSError:
            pass
        STREAMED[self.path] = sent

    def route_declared_big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "900000000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)

    def route_bomb(self) -> None:
        self._send(200, gzip.compress(b"\0" * 20_000_000), "text/plain", Content_Encoding="gzip")

    def route_slow(self) -> None:
        time.sleep(3)
        self._send(200, PAGE)

    def route_trickle(self) -> None:
        """Headers at once, then a byte every 0.1 s: no single read times out, the total does."""
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def route_loop(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/loop")
        self.end_headers()

    def route_chain(self) -> None:
        hops = int(self.path.split("/")[2])
        self.send_response(301)
        self.send_header("Location", f"/chain/{hops - 1}" if hops > 1 else "/ok")
        self.end_headers()

    def route_gzip(self) -> None:
        self._send(200, gzip.compress(PAGE), Content_Encoding="gzip")

    def route_feed(self) -> None:
        body = (FIXTURES / "rss2-content.xml").read_bytes()
        self._send(200, body, "application/rss+xml; charset=utf-8")

    def route_feed_as_html(self) -> None:
        self._send(200, (FIXTURES / "atom.xml").read_bytes(), "text/html")

    def route_page(self) -> None:
        self._send(200, (FIXTURES / "pages" / "dw.com.colonial.html").read_bytes())

    def route_cyrillic(self) -> None:
        body = "Колонна у границы\nТехника прибыла ночью.".encode("cp1251")
        self._send(200, body, "text/plain; charset=windows-1251")

    def route_jsonl(self) -> None:
        self._send(200, (FIXTURES / "json" / "articles.jsonl").read_bytes(), "application/x-ndjson")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(Handler) as url:
        yield url


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


async def test_ok(server: str) -> None:
    result = await fetch(f"{server}/ok")
    assert (result.status, result.body, result.not_modified) == (200, PAGE, False)
    assert result.final_url == result.url == f"{server}/ok"
    assert result.headers["content-type"] == "text/html"
    assert result.content_type == "text/html"


async def test_user_agent(server: str) -> None:
    assert (await fetch(f"{server}/ua")).body.decode() == USER_AGENT


async def test_callers_client_is_used_and_keeps_its_agent(server: str) -> None:
    async with httpx.AsyncClient(headers={"User-Agent": "custom/1"}) as client:
        result = await fetch(f"{server}/ua", client=client)
    assert result.body == b"custom/1"


async def test_etag_gives_not_modified(server: str) -> None:
    first = await fetch(f"{server}/etag")
    assert first.etag == '"v1"'
    assert first.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    again = await fetch(f"{server}/etag", etag=first.etag, last_modified=first.last_modified)
    assert again.status == 304
    assert again.not_modified is True
    assert again.body == b""
    assert again.etag == '"v1"'
    assert again.last_modified == first.last_modified  # kept for the next poll


async def test_http_500_is_a_fetch_error(server: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetch(f"{server}/error")
    assert str(info.value) == f"{server}/error: HTTP 500 Internal Server Error"
    assert isinstance(info.value, IngestError)


async def test_http_404(server: str) -> None:
    with pytest.raises(FetchError, match=r"/nothing-here: HTTP 404 Not Found$"):
        await fetch(f"{server}/nothing-here")


async def test_oversized_body_is_aborted_while_streaming(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        await fetch(f"{server}/big", max_bytes=100_000)
    assert str(info.value) == f"{server}/big: response body exceeds the 100,000-byte limit"
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while "/big" not in STREAMED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert STREAMED["/big"] < 50_000_000  # the server was cut off long before the end


async def test_declared_length_over_the_cap_fails_before_reading(server: str) -> None:
    with pytest.raises(
        FetchError, match="response of 900,000,000 bytes exceeds the 1,000-byte limit"
    ):
        await fetch(f"{server}/declared-big", max_bytes=1000)


async def test_cap_applies_to_the_decoded_size(server: str) -> None:
    with pytest.raises(FetchError, match="exceeds the 1,000,000-byte limit"):
        await fetch(f"{server}/bomb", max_bytes=1_000_000)


async def test_slow_response_times_out(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        await fetch(f"{server}/slow", timeout=0.5)
    assert str(info.value) == f"{server}/slow: timed out after 0.5s"
    assert time.monotonic() - started < 2


async def test_total_timeout_covers_a_trickling_body(server: str) -> None:
    with pytest.raises(FetchError, match="timed out after 0.5s"):
        await fetch(f"{server}/trickle", timeout=0.5)


async def test_redirect_loop(server: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetch(f"{server}/loop")
    assert str(info.value) == (
        f"{server}/loop: redirect loop (back to {server}/loop after 5 redirects)"
    )


async def test_redirects_are_followed_up_to_the_cap(server: str) -> None:
    result = await fetch(f"{server}/chain/3", max_redirects=3)
    assert result.final_url == f"{server}/ok"
    assert result.body == PAGE
    with pytest.raises(FetchError, match=r"chain/4: too many redirects \(more than 3\)$"):
        await fetch(f"{server}/chain/4", max_redirects=3)


async def test_gzip_body_is_decoded(server: str) -> None:
    result = await fetch(f"{server}/gzip")
    assert result.headers["content-encoding"] == "gzip"
    assert result.body == PAGE


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as info:
        await fetch(f"http://127.0.0.1:{port}/x")
    message = str(info.value)
    assert message.startswith(f"http://127.0.0.1:{port}/x: cannot connect: ")
    assert "\n" not in message


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "http://", "not a url", "https:///path"])
async def test_invalid_url(url: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetch(url)
    assert str(info.value).startswith(f"{url}: invalid URL")


def test_fetch_sync(server: str) -> None:
    assert fetch_sync(f"{server}/ok").body == PAGE


# --- URL inputs through read_input / iter_inputs ---------------------------------


def test_read_input_feed_url(server: str) -> None:
    articles = read_input(f"{server}/feed")
    assert len(articles) == 3
    assert articles[0].url == "https://news.example.org/2024/05/servicemen-arrive"
    assert articles[0].source == "Border Watch Daily"


def test_feed_served_as_html_is_still_a_feed(server: str) -> None:
    articles = read_input(f"{server}/feed-as-html")
    assert [a.source for a in articles] == ["Grenzticker", "Grenzticker"]
    assert articles[0].url == f"{server}/meldungen/truppen-verlegt"


def test_read_input_page_url(server: str) -> None:
    [article] = read_input(f"{server}/page")
    assert article.title == "Berlin confronts Germany's colonial past with new initiative"
    assert article.url == f"{server}/page"  # where it was fetched from


def test_text_url_uses_the_http_charset(server: str) -> None:
    [article] = read_input(f"{server}/cyrillic")
    assert article.title == "Колонна у границы"
    assert article.url == f"{server}/cyrillic"
    assert article.source == "127.0.0.1"


def test_jsonl_url(server: str) -> None:
    articles = read_input(f"{server}/jsonl")
    # no URL of its own: none (``…/jsonl#3`` canonicalises to ``…/jsonl``, one article for all)
    assert [a.url for a in articles] == ["https://news.example.com/1", ""]


def test_iter_inputs_reports_a_failing_url_and_goes_on(server: str) -> None:
    results = dict(iter_inputs([f"{server}/error", f"{server}/feed"]))
    error = results[f"{server}/error"]
    assert isinstance(error, FetchError)
    assert str(error) == f"{server}/error: HTTP 500 Internal Server Error"
    feed = results[f"{server}/feed"]
    assert isinstance(feed, list) and len(feed) == 3


async def test_articles_from_fetch_for_the_async_poller(server: str) -> None:
    first = await fetch(f"{server}/feed")
    assert len(articles_from_fetch(first)) == 3
    unchanged = await fetch(f"{server}/etag", etag='"v1"')
    assert articles_from_fetch(unchanged) == []


async def test_unclosed_ipv6_bracket_is_an_invalid_url() -> None:
    with pytest.raises(FetchError, match=r"^http://\[::1/x: invalid URL"):
        await fetch("http://[::1/x")
