"""poll() against a real HTTP server on 127.0.0.1 and temporary folders (no internet)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import RoutedHandler, clear_proxies, serve

from bot.ingest.feeds import feed_as_utf8, read_feed_bytes
from bot.ingest.poll import (
    MAX_BACKOFF_S,
    HostLimiter,
    PollOutcome,
    SourceState,
    new_problem,
    next_poll_delay,
    next_state,
    poll,
)

FIXTURES = Path(__file__).parent / "fixtures"
HITS: dict[str, int] = {}  # path -> requests served
ACTIVE = {"now": 0, "peak": 0}  # concurrent /slow-article requests
ACTIVE_LOCK = threading.Lock()

CYRILLIC_ITEMS = [
    (
        "Колонна российской техники замечена у границы",
        "Жители сообщили о колонне бронетехники, которая двигалась к границе с Польшей.",
    ),
    (
        "Военнослужащие прибыли в Беларусь для совместных учений",
        "Министерство обороны заявило, что первые эшелоны прибыли на полигоны страны.",
    ),
]


def cyrillic_feed(declaration: str) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://news.example.by/{n}</link>"
        f"<description>{text}</description></item>"
        for n, (title, text) in enumerate(CYRILLIC_ITEMS)
    )
    rss = f"<rss version='2.0'><channel><title>Лента новостей</title>{items}</channel></rss>"
    return (declaration + rss).encode("cp1251")


LATIN1_PAGE = (
    "<html><head><title>Les soldats arrivés à la frontière</title></head><body>"
    "<article><h1>Les soldats arrivés à la frontière</h1>"
    + "".join(
        f"<p>Paragraphe {n} : les soldats sont arrivés près de la frontière à Brest, "
        "a déclaré le ministère de la Défense, qui évoque des exercices conjoints. "
        "Les habitants ont vu des véhicules blindés traverser la ville pendant la nuit.</p>"
        for n in range(4)
    )
    + "</article></body></html>"
).encode("latin-1")


def full_page(n: int) -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {i} of story {n}: the defence ministry said the convoy of armoured "
        "vehicles reached the border district overnight, and that more units would follow "
        "during the week as part of the exercise announced earlier this month.</p>"
        for i in range(5)
    )
    return (
        f"<html><head><title>Story {n}</title></head><body><nav>Home | World</nav>"
        f"<article><h1>Story {n}</h1>{paragraphs}</article>"
        "<footer>Cookie settings</footer></body></html>"
    ).encode()


class Handler(RoutedHandler):
    @property
    def base(self) -> str:
        return f"http://{self.headers['Host']}"

    def do_GET(self) -> None:
        HITS[self.path] = HITS.get(self.path, 0) + 1
        super().do_GET()

    def route_feed(self) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        body = (FIXTURES / "rss2-content.xml").read_bytes()
        self._send(200, body, "application/rss+xml; charset=utf-8", ETag='"v1"')

    def route_error(self) -> None:
        self._send(500, b"boom")

    def route_slow(self) -> None:
        time.sleep(2)
        self._send(200, b"<rss/>", "application/rss+xml")

    def route_big(self) -> None:
        self._send(200, b"<rss>" + b"x" * 5000 + b"</rss>", "application/rss+xml")

    def route_malformed(self) -> None:
        self._send(200, (FIXTURES / "malformed-feed.xml").read_bytes(), "application/rss+xml")

    def route_cp1251_as_utf8(self) -> None:
        body = cyrillic_feed('<?xml version="1.0" encoding="utf-8"?>')
        self._send(200, body, "application/rss+xml; charset=utf-8")

    def route_cp1251_undeclared(self) -> None:
        self._send(200, cyrillic_feed(""), "text/xml")

    def route_latin1_page(self) -> None:
        self._send(200, LATIN1_PAGE, "text/html")

    def route_loop(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/loop")
        self.end_headers()

    def route_teaser(self) -> None:
        links = [f"{self.base}/article/1", f"{self.base}/article/2", f"{self.base}/broken/3"]
        items = "".join(
            f"<item><title>Story {n}</title><link>{link}</link>"
            f"<description>Teaser {n}: convoy reached the border.</description></item>"
            for n, link in enumerate(links, start=1)
        )
        body = f"<rss version='2.0'><channel><title>Teasers</title>{items}</channel></rss>"
        self._send(200, body.encode(), "application/rss+xml")

    def route_article(self) -> None:
        self._send(200, full_page(int(self.path.rsplit("/", 1)[1])))

    def route_slow_teaser(self) -> None:
        items = "".join(
            f"<item><title>Slow {n}</title><link>{self.base}/slow-article/{n}</link>"
            f"<description>Teaser {n}.</description></item>"
            for n in range(1, 5)
        )
        body = f"<rss version='2.0'><channel><title>Slow</title>{items}</channel></rss>"
        self._send(200, body.encode(), "application/rss+xml")

    def route_slow_article(self) -> None:
        with ACTIVE_LOCK:
            ACTIVE["now"] += 1
            ACTIVE["peak"] = max(ACTIVE["peak"], ACTIVE["now"])
        time.sleep(0.15)
        with ACTIVE_LOCK:
            ACTIVE["now"] -= 1
        self._send(200, full_page(int(self.path.rsplit("/", 1)[1])))

    def route_broken(self) -> None:
        self._send(500, b"no")

    def route_page(self) -> None:
        self._send(200, full_page(7))

    def route_json(self) -> None:
        self._send(200, b'{"title": "x", "text": "y"}', "application/json")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(Handler) as url:
        yield url


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


async def run(state: SourceState, client: httpx.AsyncClient, **kw: object) -> PollOutcome:
    return await poll(state, client=client, limiter=HostLimiter(), **kw)  # type: ignore[arg-type]


# --- feeds -------------------------------------------------------------------


async def test_feed_then_not_modified(server: str, client: httpx.AsyncClient) -> None:
    state = SourceState(kind="feed", url=f"{server}/feed", path=None, fetch_full=False)
    first = await run(state, client)
    assert first.error is None and first.problem is None
    assert first.kind == "feed"
    assert len(first.articles) == 3
    assert first.articles[0].source == "Border Watch Daily"
    assert first.etag == '"v1"'
    state = next_state(state, first)
    second = await run(state, client)
    assert second.not_modified
    assert second.articles == []
    assert second.error is None
    assert second.etag == '"v1"'


async def test_http_500_is_an_error_not_an_exception(
    server: str, client: httpx.AsyncClient
) -> None:
    state = SourceState(kind="feed", url=f"{server}/error", etag='"old"', seen_files={"a": "1"})
    outcome = await run(state, client)
    assert outcome.error == f"{server}/error: HTTP 500 Internal Server Error"
    assert not outcome.ok
    assert outcome.articles == []
    # validators and fingerprints survive a failed poll
    assert (outcome.etag, outcome.seen_files) == ('"old"', {"a": "1"})
    assert next_state(state, outcome) is state


async def test_slow_response_times_out(server: str, client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    outcome = await run(SourceState(kind="feed", url=f"{server}/slow"), client, timeout=0.3)
    assert outcome.error == f"{server}/slow: timed out after 0.3s"
    assert time.monotonic() - started < 1.5


async def test_oversized_body_names_the_cap(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="feed", url=f"{server}/big"), client, max_bytes=1000)
    assert outcome.error is not None
    assert "exceeds the 1,000-byte limit" in outcome.error


async def test_redirect_loop_is_an_error(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="page", url=f"{server}/loop"), client)
    assert outcome.error is not None
    assert outcome.error.startswith(f"{server}/loop: redirect loop")


async def test_connection_refused_is_an_error(client: httpx.AsyncClient) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = await run(SourceState(kind="auto", url=f"http://127.0.0.1:{port}/"), client)
    assert outcome.error is not None and "cannot connect" in outcome.error
    assert outcome.kind == "auto"  # not decided yet


async def test_malformed_feed_gives_articles_and_a_problem(
    server: str, client: httpx.AsyncClient
) -> None:
    state = SourceState(kind="feed", url=f"{server}/malformed")
    outcome = await run(state, client)
    assert outcome.error is None
    assert outcome.articles, "feedparser recovers the first entry"
    assert outcome.articles[0].title == "Convoy spotted near the border"
    assert outcome.problem is not None and "\n" not in outcome.problem
    assert new_problem(state, outcome) == outcome.problem
    # logged once: the same problem on the next poll is not news
    state = next_state(state, outcome)
    again = await run(state, client)
    assert again.problem == outcome.problem
    assert new_problem(state, again) is None


@pytest.mark.parametrize("route", ["cp1251-as-utf8", "cp1251-undeclared"])
async def test_feed_with_wrong_or_missing_charset(
    server: str, client: httpx.AsyncClient, route: str
) -> None:
    outcome = await run(SourceState(kind="feed", url=f"{server}/{route}"), client)
    assert outcome.error is None
    assert [a.title for a in outcome.articles] == [title for title, _ in CYRILLIC_ITEMS]
    assert outcome.articles[0].text == CYRILLIC_ITEMS[0][1]
    assert outcome.articles[0].source == "Лента новостей"
    assert outcome.problem is not None and "read as cp1251" in outcome.problem


def test_feed_as_utf8_leaves_good_feeds_alone() -> None:
    body = (FIXTURES / "rss2-content.xml").read_bytes()
    data, headers, note = feed_as_utf8(body, {"Content-Type": "application/rss+xml"})
    assert data == body.replace(b'encoding="UTF-8"', b'encoding="utf-8"')
    assert headers == {"content-type": "application/rss+xml; charset=utf-8"}
    assert note is None
    # a declared legacy charset that fits is used, not second-guessed
    latin = '<?xml version="1.0" encoding="iso-8859-1"?><rss><title>Café</title></rss>'
    data, _, note = feed_as_utf8(latin.encode("latin-1"), {})
    assert data.decode("utf-8") == latin.replace("iso-8859-1", "utf-8")
    assert note is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_feeds_are_left_to_feedparser(encoding: str) -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel>'
        "<title>Лента</title><item><title>Колонна</title><link>http://x/1</link></item>"
        "</channel></rss>"
    )
    feed = read_feed_bytes(text.encode(encoding))
    assert (feed.title, [a.title for a in feed.articles], feed.problem) == (
        "Лента",
        ["Колонна"],
        None,
    )


async def test_latin1_page_without_charset(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="page", url=f"{server}/latin1-page"), client)
    assert outcome.error is None
    [article] = outcome.articles
    assert article.title == "Les soldats arrivés à la frontière"
    assert "déclaré le ministère de la Défense" in article.text


# --- auto --------------------------------------------------------------------


async def test_auto_resolves_to_feed(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="auto", url=f"{server}/feed"), client)
    assert (outcome.kind, len(outcome.articles)) == ("feed", 3)
    assert next_state(SourceState(kind="auto", url=f"{server}/feed"), outcome).kind == "feed"


async def test_auto_resolves_to_page(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="auto", url=f"{server}/page"), client)
    assert outcome.kind == "page"
    [article] = outcome.articles
    assert article.title == "Story 7"
    assert "Cookie settings" not in article.text


async def test_auto_refuses_json(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="auto", url=f"{server}/json"), client)
    assert outcome.error == f"{server}/json: is JSON, neither a feed nor a web page"


async def test_feed_kind_that_serves_a_page_says_so(server: str, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="feed", url=f"{server}/page"), client)
    assert outcome.error is not None
    assert "is a web page, not a feed" in outcome.error


# --- fetch_full --------------------------------------------------------------


async def test_fetch_full_replaces_teasers_and_keeps_broken_ones(
    server: str, client: httpx.AsyncClient
) -> None:
    state = SourceState(kind="feed", url=f"{server}/teaser", fetch_full=True)
    outcome = await run(state, client)
    assert outcome.error is None
    one, two, three = outcome.articles
    assert "Paragraph 4 of story 1" in one.text
    assert "Paragraph 0 of story 2" in two.text
    assert (one.title, one.url) == ("Story 1", f"{server}/article/1")  # the feed's, not the page's
    assert three.text == "Teaser 3: convoy reached the border."  # 500: the teaser stays
    assert outcome.problem is not None
    assert "full text unavailable for 1 of 3 entries" in outcome.problem
    assert f"{server}/broken/3: HTTP 500" in outcome.problem
    assert set(outcome.seen_files) == {
        f"{server}/article/1",
        f"{server}/article/2",
        f"{server}/broken/3",
    }

    # the next poll neither returns nor re-fetches the entries it has seen
    before = HITS.get("/article/1", 0)
    again = await run(next_state(state, outcome), client)
    assert again.error is None
    assert again.articles == []
    assert HITS.get("/article/1", 0) == before


async def test_fetch_full_limit(server: str, client: httpx.AsyncClient) -> None:
    state = SourceState(kind="feed", url=f"{server}/teaser", fetch_full=True)
    outcome = await run(state, client, full_text_limit=1)
    one, two, three = outcome.articles
    assert "Paragraph 4 of story 1" in one.text
    assert two.text.startswith("Teaser 2") and three.text.startswith("Teaser 3")
    assert outcome.problem is None


@pytest.mark.parametrize("per_host", [1, 2])
async def test_fetch_full_respects_the_host_limit(
    server: str, client: httpx.AsyncClient, per_host: int
) -> None:
    ACTIVE["peak"] = 0
    limiter = HostLimiter(per_host=per_host)
    state = SourceState(kind="feed", url=f"{server}/slow-teaser", fetch_full=True)
    outcome = await poll(state, client=client, limiter=limiter)
    assert [("Paragraph 0" in a.text) for a in outcome.articles] == [True] * 4
    assert ACTIVE["peak"] == per_host  # the pages were fetched in parallel, but no wider
    assert limiter.in_use(server) == 0  # every slot was given back


# --- HostLimiter ---------------------------------------------------------------


async def test_host_limiter_bounds_concurrency_per_host() -> None:
    limiter = HostLimiter(per_host=2)
    active: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def job(url: str) -> None:
        host = HostLimiter.host(url)
        async with limiter.slot(url):
            active[host] = active.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), active[host])
            await asyncio.sleep(0.01)
            active[host] -= 1

    urls = [f"http://a.example/{n}" for n in range(6)] + [
        f"https://B.example/{n}" for n in range(3)
    ]
    await asyncio.gather(*(job(u) for u in urls))
    assert peak == {"a.example": 2, "b.example": 2}
    assert limiter.in_use("http://a.example/") == 0
    assert limiter._slots == {}  # idle hosts are forgotten


def test_host_limiter_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        HostLimiter(per_host=0)


# --- files and folders -------------------------------------------------------


def touch(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


async def test_folder_reads_new_and_changed_files_once(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    touch(inbox / "a.txt", "Troops arrive\nA convoy reached the border.")
    state = SourceState(kind="folder", path=str(inbox))

    first = await run(state, client)
    assert first.error is None and first.kind == "folder"
    assert [a.title for a in first.articles] == ["Troops arrive"]
    assert first.articles[0].url == str(inbox / "a.txt")
    assert set(first.seen_files) == {str(inbox / "a.txt")}
    state = next_state(state, first)

    unchanged = await run(state, client)
    assert unchanged.articles == []
    assert unchanged.seen_files == state.seen_files

    touch(inbox / "a.txt", "Troops arrive (updated)\nA second convoy followed.")
    touch(inbox / "b.md", "# Border closed\n\nThe crossing was shut.")
    (inbox / "README.md").write_text("# not an article\n")
    changed = await run(state, client)
    assert sorted(a.title for a in changed.articles) == ["Border closed", "Troops arrive (updated)"]
    state = next_state(state, changed)

    (inbox / "a.txt").unlink()
    gone = await run(state, client)
    assert gone.articles == []
    assert set(gone.seen_files) == {str(inbox / "b.md")}


async def test_folder_skips_a_bad_file_and_reads_the_others(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    touch(tmp_path / "bad.json", "{not json")
    touch(tmp_path / "good.txt", "Good title\nGood text.")
    touch(tmp_path / "cyrillic.txt", "Колонна у границы\nТехника прибыла ночью.", "cp1251")
    state = SourceState(kind="folder", path=str(tmp_path))
    outcome = await run(state, client)
    assert outcome.error is None
    assert sorted(a.title for a in outcome.articles) == ["Good title", "Колонна у границы"]
    assert outcome.problem is not None
    assert outcome.problem.startswith(f"{tmp_path / 'bad.json'}: is not valid JSON")
    # the bad file is not retried (nor reported again) until it changes
    again = await run(next_state(state, outcome), client)
    assert (again.articles, again.problem) == ([], None)


async def test_folder_file_over_the_size_cap(tmp_path: Path, client: httpx.AsyncClient) -> None:
    touch(tmp_path / "huge.txt", "Title\n" + "x" * 2000)
    outcome = await run(SourceState(kind="folder", path=str(tmp_path)), client, max_bytes=1000)
    assert outcome.articles == []
    assert outcome.problem is not None and "exceeds the 1,000-byte limit" in outcome.problem


async def test_feed_file_in_a_folder_with_wrong_charset(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    (tmp_path / "news.rss").write_bytes(cyrillic_feed('<?xml version="1.0" encoding="utf-8"?>'))
    outcome = await run(SourceState(kind="folder", path=str(tmp_path)), client)
    assert [a.title for a in outcome.articles] == [title for title, _ in CYRILLIC_ITEMS]


async def test_file_source(tmp_path: Path, client: httpx.AsyncClient) -> None:
    feed = tmp_path / "desk.rss"
    feed.write_bytes((FIXTURES / "rss2-content.xml").read_bytes())
    state = SourceState(kind="file", path=str(feed))
    first = await run(state, client)
    assert (first.kind, len(first.articles)) == ("file", 3)
    state = next_state(state, first)
    assert (await run(state, client)).articles == []
    feed.write_bytes((FIXTURES / "malformed-feed.xml").read_bytes())
    changed = await run(state, client)
    assert changed.articles and changed.problem


async def test_unreadable_single_file_is_an_error(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    outcome = await run(SourceState(kind="file", path=str(bad)), client)
    assert outcome.error is not None and outcome.error.startswith(f"{bad}: is not valid JSON")
    assert outcome.seen_files == {}  # retried next time


async def test_missing_path_is_an_error(tmp_path: Path, client: httpx.AsyncClient) -> None:
    missing = tmp_path / "nowhere"
    outcome = await run(SourceState(kind="folder", path=str(missing)), client)
    assert outcome.error == f"{missing}: no such file or folder"


async def test_empty_folder_is_fine(tmp_path: Path, client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="folder", path=str(tmp_path)), client)
    assert (outcome.error, outcome.articles, outcome.seen_files) == (None, [], {})


async def test_unexpected_errors_become_the_outcomes_error(
    tmp_path: Path, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("bot.ingest.poll.folder_files", explode)
    outcome = await run(SourceState(kind="folder", path=str(tmp_path)), client)
    assert outcome.error == f"{tmp_path}: unexpected error: RuntimeError: parser bug"


async def test_state_without_url_or_path(client: httpx.AsyncClient) -> None:
    outcome = await run(SourceState(kind="feed"), client)
    assert outcome.error == "the source has neither a url nor a path"


async def test_bundled_sample_files_read_cleanly(client: httpx.AsyncClient) -> None:
    samples = Path(__file__).parent.parent / "samples"
    feed = await run(SourceState(kind="file", path=str(samples / "world-desk.rss")), client)
    text = await run(SourceState(kind="file", path=str(samples / "seed-article.txt")), client)
    assert (feed.error, feed.problem, len(feed.articles)) == (None, None, 6)
    assert (text.error, text.problem, len(text.articles)) == (None, None, 1)


# --- next_poll_delay -----------------------------------------------------------


class Fixed:
    """An rng whose uniform() returns a fixed point of the range (0 = low, 1 = high)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.at


def test_next_poll_delay_examples() -> None:
    assert next_poll_delay(900, 0, rng=Fixed(0.5)) == pytest.approx(900)
    assert next_poll_delay(900, 0, rng=Fixed(0)) == pytest.approx(810)
    assert next_poll_delay(900, 0, rng=Fixed(1)) == pytest.approx(990)
    assert next_poll_delay(900, 1, rng=Fixed(0.5)) == pytest.approx(1800)
    assert next_poll_delay(900, 3, rng=Fixed(0.5)) == pytest.approx(7200)
    assert next_poll_delay(900, 10, rng=Fixed(0.5)) == pytest.approx(MAX_BACKOFF_S)
    assert next_poll_delay(900, 10, rng=Fixed(1)) == pytest.approx(MAX_BACKOFF_S * 1.2)
    assert next_poll_delay(900, 10_000, rng=Fixed(0.5)) == pytest.approx(MAX_BACKOFF_S)
    # a source polled less often than the cap is never polled sooner for failing
    assert next_poll_delay(86400, 2, rng=Fixed(0)) == pytest.approx(86400 * 1.1)


@given(
    interval=st.floats(min_value=30, max_value=MAX_BACKOFF_S),
    failures=st.integers(min_value=0, max_value=200),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_next_poll_delay_bounds(interval: float, failures: int, seed: int) -> None:
    delay = next_poll_delay(interval, failures, rng=random.Random(seed))
    assert 0.8 * interval <= delay <= MAX_BACKOFF_S * 1.2
    if failures == 0:
        assert 0.9 * interval <= delay <= 1.1 * interval


@given(
    interval=st.floats(min_value=30, max_value=MAX_BACKOFF_S),
    failures=st.integers(min_value=0, max_value=60),
    at=st.floats(min_value=0, max_value=1),
)
def test_next_poll_delay_grows_with_failures(interval: float, failures: int, at: float) -> None:
    rng = Fixed(at)
    now, after = (
        next_poll_delay(interval, failures, rng=rng),
        next_poll_delay(interval, failures + 1, rng=rng),
    )
    assert after >= now * (1 - 1e-9)
    if interval * 2 ** (failures + 1) <= MAX_BACKOFF_S:
        # below the cap, even the shortest next delay beats the longest current one
        shortest = next_poll_delay(interval, failures + 1, rng=Fixed(0))
        longest = next_poll_delay(interval, failures, rng=Fixed(1))
        assert shortest > longest
