"""RSS/Atom/RDF feeds → articles, one per entry, with full content preferred over the teaser."""

from __future__ import annotations

import codecs
import io
import re
import xml.sax
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import urljoin

import charset_normalizer

from bot.ingest.dates import iso_from_struct
from bot.ingest.errors import IngestError, one_line
from bot.ingest.html import domain
from bot.ingest.htmltext import html_to_text, tidy_lines
from bot.ingest.textfile import bom_encoding, codec_name
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
    import feedparser  # here: only a feed needs it

    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    problem = _problem(parsed)
    feed: dict[str, Any] = parsed.feed
    title = _plain(feed.get("title_detail")) or tidy_lines(str(feed.get("title", "")))
    if not parsed.entries and (not parsed.get("version") or (problem and not title)):
        raise IngestError(f"not an RSS or Atom feed{': ' + problem if problem else ''}")
    home = str(feed.get("link", ""))
    source = title or domain(home) or domain(url)
    articles = [_article(entry, url=url or home, source=source) for entry in parsed.entries]
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


def _article(entry: Any, *, url: str, source: str) -> Article:
    """One entry → Article; ``url`` resolves relative links."""
    return Article(
        title=_plain(entry.get("title_detail")) or tidy_lines(str(entry.get("title", ""))),
        text=_body(entry),
        url=_entry_link(entry, url),
        source=_entry_source(entry, source),
        published=iso_from_struct(entry.get("published_parsed") or entry.get("updated_parsed")),
    )


def _entry_link(entry: Any, url: str) -> str:
    """The entry's ``<link>``, else its guid/id when that is a web address, else "".

    Never the feed's own URL (``urljoin(url, "")`` is ``url``): every entry
    without a link would then be one article, stored once. An entry without
    a web address is identified by its content (see ``bot.store.articles``);
    a guid that is no web address (``tag:…``, ``urn:…``, a number) cannot be
    linked to, and a fragment on the feed URL would be dropped by the
    canonical URL and collapse them again.
    """
    link = str(entry.get("link") or "").strip()
    if link:
        return urljoin(url, link)
    guid = str(entry.get("id") or "").strip()
    return guid if guid.startswith(("http://", "https://")) else ""


def _entry_source(entry: Any, source: str) -> str:
    entry_source = entry.get("source") or {}
    return str(entry_source.get("title") or "") or source


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


# --- encodings -------------------------------------------------------------

_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])([A-Za-z0-9_.:-]*)\2""")


def read_feed_bytes(
    body: bytes, url: str = "", headers: dict[str, str] | None = None
) -> FeedResult:
    """:func:`parse_feed` after :func:`feed_as_utf8`; the encoding note joins the problems."""
    data, fixed_headers, note = feed_as_utf8(body, headers or {})
    feed = parse_feed(data, url, response_headers=fixed_headers)
    feed.problem = "; ".join(p for p in (note, feed.problem) if p) or None
    return feed


def feed_as_utf8(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str], str | None]:
    """Feed bytes with an encoding feedparser will not get wrong, and a note when the
    feed lied about its encoding.

    feedparser trusts the declared charset (HTTP, then the XML declaration,
    else UTF-8) and falls back to windows-1252 when the bytes do not fit, which
    turns a cp1251 feed labelled UTF-8 into mojibake. Here, as for text files
    (:mod:`bot.ingest.textfile`): a BOM (or the zero bytes of UTF-16/32) is
    left to feedparser; else strict UTF-8, then the HTTP charset, then the XML
    declaration; else charset-normalizer's guess. The result is UTF-8 bytes,
    declared as such in both the headers and the XML declaration.
    """
    headers = {k.lower(): v for k, v in headers.items()}
    if not body or bom_encoding(body) or b"\x00" in body[:512]:
        return body, headers, None  # a BOM, or UTF-16/32 without one: feedparser knows those
    http_charset = _param_charset(headers.get("content-type", ""))
    decl = _XML_ENCODING.match(body[:1024])
    xml_charset = decl.group(3).decode("ascii") if decl else None
    note = None
    encoding = None
    for label in ("utf-8", http_charset, xml_charset):
        codec = codec_name(label)
        if codec and _decodes(body, codec):
            encoding = codec
            break
    if encoding is None:
        best = charset_normalizer.from_bytes(body).best()
        if best is None:
            return body, headers, None  # let feedparser recover what it can
        encoding = codec_name(best.encoding) or best.encoding
        declared = http_charset or xml_charset
        note = (
            f"not valid {declared} as declared; read as {encoding}"
            if declared
            else f"not UTF-8 and no encoding declared; read as {encoding}"
        )
    if codecs.lookup(encoding).name != "utf-8":
        body = body.decode(encoding, errors="replace").encode("utf-8")
    body = _XML_ENCODING.sub(rb'\1"utf-8"', body, count=1)
    media = headers.get("content-type", "").split(";")[0].strip() or "application/xml"
    headers["content-type"] = f"{media}; charset=utf-8"
    return body, headers, note


def _param_charset(content_type: str) -> str | None:
    msg = Message()
    msg["content-type"] = content_type
    value = msg.get_param("charset")
    return value if isinstance(value, str) and value else None


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
