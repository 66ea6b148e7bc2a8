"""RSS/Atom/RDF feeds → articles, one per entry, with full content preferred over the teaser."""

from __future__ import annotations

import io
import xml.sax
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import feedparser

from bot.ingest.dates import iso_from_struct
from bot.ingest.errors import IngestError, one_line
from bot.ingest.html import domain
from bot.ingest.htmltext import html_to_text, tidy_lines
from bot.models import Article

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


@dataclass
class FeedResult:
    """What a feed yielded. ``problem`` is set when feedparser had to recover from bad XML."""

    articles: list[Article] = field(default_factory=list)
    title: str = ""
    problem: str | None = None


def parse_feed(
    body: bytes, url: str = "", response_headers: dict[str, str] | None = None
) -> FeedResult:
    """Parse feed bytes. Raises :class:`IngestError` when nothing feed-like is in them.

    The body goes to feedparser as a byte stream, never as a string: given a
    string, feedparser may treat it as a file name or URL and open it.
    ``response_headers`` (lower-case names) lets feedparser use the HTTP charset
    and resolve relative links against ``url``.
    """
    headers = {k.lower(): v for k, v in (response_headers or {}).items()}
    # Without a content type feedparser flags every feed as bozo; XML rules
    # (the encoding declaration, else UTF-8) are the right default for bytes.
    headers.setdefault("content-type", "application/xml")
    if url:
        headers.setdefault("content-location", url)
    if not body.strip():
        raise IngestError("is empty")
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    problem = _problem(parsed)
    feed: dict[str, Any] = parsed.feed
    title = _plain(feed.get("title_detail")) or tidy_lines(str(feed.get("title", "")))
    if not parsed.entries and (not parsed.get("version") or (problem and not title)):
        raise IngestError(f"not an RSS or Atom feed{': ' + problem if problem else ''}")
    home = str(feed.get("link", ""))
    source = title or domain(home) or domain(url)
    articles = [
        _article(entry, index, url=url or home, source=source)
        for index, entry in enumerate(parsed.entries, start=1)
    ]
    return FeedResult(
        articles=[a for a in articles if a.title or a.text], title=title, problem=problem
    )


def _problem(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException):
        return one_line(
            f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        )
    return one_line(str(exc)) if exc else "malformed feed"


def _article(entry: Any, index: int, *, url: str, source: str) -> Article:
    """One entry → Article; ``url`` resolves relative links, ``index`` (1-based)
    names entries that have neither link nor id."""
    link = urljoin(url, str(entry.get("link") or ""))
    if not link:
        guid = str(entry.get("id") or "")
        link = guid if guid.startswith(("http://", "https://")) else f"{url}#{guid or index}"
    entry_source = entry.get("source") or {}
    return Article(
        title=_plain(entry.get("title_detail")) or tidy_lines(str(entry.get("title", ""))),
        text=_body(entry),
        url=link,
        source=str(entry_source.get("title") or "") or source,
        published=iso_from_struct(entry.get("published_parsed") or entry.get("updated_parsed")),
    )


def _body(entry: Any) -> str:
    """The longest full ``content`` (``content:encoded``, Atom content), else the summary."""
    contents = [_plain(c) for c in entry.get("content") or []]
    best = max(contents, key=len, default="")
    return best or _plain(entry.get("summary_detail")) or tidy_lines(str(entry.get("summary", "")))


def _plain(detail: Any) -> str:
    """feedparser text construct (``{"type", "value"}``) → plain text."""
    if not detail:
        return ""
    value = str(detail.get("value") or "")
    kind = str(detail.get("type") or "").lower()
    if kind in _HTML_TYPES:
        return html_to_text(value)
    return tidy_lines(value)
