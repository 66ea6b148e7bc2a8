"""JSON and JSON Lines → articles.

Accepted shapes: one article object; a list of them; an object holding them
under ``articles``/``items``/``entries`` (which covers JSON Feed,
https://jsonfeed.org); or JSON Lines, one article object per line.

An article object has ``title`` and ``text`` (or ``content``/``content_text``/
``content_html``/``summary``/``description``, HTML stripped), and optionally
``url`` (or ``link``), ``source`` (a string, or an object with a ``name``), and
``published`` (or ``date``/``date_published``/``pubDate``/``publishedAt``:
ISO 8601, RFC 2822, ``2022/2/7``, ``7 Feb 2022`` or Unix seconds; a date not
understood is a warning, and the article has no date).

One bad item (not an object, empty, not JSON on its line) is a warning
naming it; the others are read. Only an input with no article is an error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.ingest.dates import iso_from_value
from bot.ingest.errors import IngestError
from bot.ingest.htmltext import html_to_text, looks_like_html
from bot.models import Article

NEEDS = 'needs "title" and "text" or "content"'
_TEXT_KEYS = ("text", "content", "content_text", "content_html", "summary", "description")
_URL_KEYS = ("url", "link")
_DATE_KEYS = ("published", "date", "date_published", "pubDate", "publishedAt")
_LIST_KEYS = ("articles", "items", "entries")

log = logging.getLogger("alertbot")


def articles_from_json(
    text: str, *, url: str = "", source: str = "", lines: bool | None = None
) -> list[Article]:
    """Articles in a JSON (``lines=False``) or JSON Lines (``lines=True``) document.

    ``lines=None`` decides from the content. ``url`` and ``source`` fill in what
    an object does not say; with several articles the URL gets ``#<line>`` or
    ``#<item>`` so that each one keeps its own identity.
    """
    if lines:
        return _from_lines(text, url=url, source=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # "Extra data" after a first object is exactly what JSON Lines looks like.
        if lines is None and exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return _from_lines(text, url=url, source=source)
        raise IngestError(f"is not valid JSON: {exc}") from exc
    return _from_document(data, url=url, source=source)


def _from_lines(text: str, *, url: str, source: str) -> list[Article]:
    items: list[tuple[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})")
            _skipped(url, problems[-1])
    if not items and not problems:
        raise IngestError("is empty")
    return _good_articles(items, problems, url=url, source=source)


def _from_document(data: Any, *, url: str, source: str) -> list[Article]:
    if isinstance(data, dict):
        listed = next((data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)), None)
        if listed is None:
            return [article_from_object(data, "the object", url=url, source=source)]
        feed_title = data.get("title")
        source = feed_title if isinstance(feed_title, str) and feed_title else source
        data = listed
    if not isinstance(data, list):
        raise IngestError(f"is not an article or a list of articles ({NEEDS})")
    items = [(f"item {n} of {len(data)}", obj) for n, obj in enumerate(data, start=1)]
    return _good_articles(items, [], url=url, source=source)


def _good_articles(
    items: list[tuple[str, Any]], problems: list[str], *, url: str, source: str
) -> list[Article]:
    """The articles of ``items`` (where, object); a bad one is a warning naming it.

    ``problems`` are the items already found bad. Only when no item is an
    article is the input an error. An item without a URL of its own gets
    ``url#<line or item>`` when ``url`` is a file name; from the web it gets
    none (the canonical URL drops a fragment, so every such item would be
    stored as one article).
    """
    articles = []
    web = url.startswith(("http://", "https://"))
    for where, obj in items:
        item_url = "" if web else f"{url}#{where.split()[1]}"
        try:
            article = article_from_object(obj, where, url=item_url, source=source, origin=url)
            articles.append(article)
        except IngestError as err:
            problems.append(str(err))
            _skipped(url, problems[-1])
    if not articles:
        if len(problems) == 1:
            raise IngestError(f"has no article: {problems[0]}")
        raise IngestError(f"has no article: {len(problems)} bad items, the first: {problems[0]}")
    if problems:
        log.warning(
            "%s: %d bad item(s) skipped, %d read", url or "input", len(problems), len(articles)
        )
    return articles


def _skipped(url: str, problem: str) -> None:
    log.warning("%s: %s: skipped", url or "input", problem)


def article_from_object(
    obj: Any, where: str, *, url: str = "", source: str = "", origin: str = ""
) -> Article:
    """One JSON object → Article; ``where`` ("line 3", "item 2 of 5") names it in errors,
    ``origin`` (the file or URL) in warnings."""
    if not isinstance(obj, dict):
        raise IngestError(f"{where} is not an article ({NEEDS})")
    title = _string(obj, ("title",), where)
    text = _text(obj, where)
    if title is None or text is None:
        raise IngestError(f"{where} is not an article ({NEEDS})")
    if not title.strip() and not text.strip():
        raise IngestError(f"{where} has an empty title and text")
    date_value = next((obj[k] for k in _DATE_KEYS if obj.get(k) not in (None, "")), "")
    published = iso_from_value(date_value)
    if published is None:
        origin = origin or url or "input"
        shown = str(date_value)[:40]
        log.warning("%s: %s: date not understood, kept without a date: %r", origin, where, shown)
        published = ""
    return Article(
        title=" ".join(title.split()),
        text=text.strip(),
        url=_string(obj, _URL_KEYS, where) or url,
        source=_source(obj, where) or source,
        published=published,
    )


def _text(obj: dict[str, Any], where: str) -> str | None:
    for key in _TEXT_KEYS:
        value = _string(obj, (key,), where)
        if value:
            return html_to_text(value) if key != "text" and looks_like_html(value) else value
    return next(("" for k in _TEXT_KEYS if k in obj), None)


def _source(obj: dict[str, Any], where: str) -> str | None:
    """``source`` as a string, or as an object with a ``name`` (NewsAPI's shape)."""
    value = obj.get("source")
    if isinstance(value, dict):
        return _string(value, ("name", "title"), f"{where}: source")
    return _string(obj, ("source",), where)


def _string(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    """The first of ``keys`` present in ``obj``; a non-string value is an error."""
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise IngestError(f'{where}: "{key}" should be a string, not {type(value).__name__}')
        return value
    return None
