"""Web pages → one article: main text via trafilatura, menus/cookie banners/comments dropped."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.ingest.dates import iso_from_value
from bot.ingest.errors import IngestError
from bot.ingest.htmltext import tidy_lines
from bot.ingest.textfile import bom_encoding, codec_name, decode_bytes
from bot.models import Article

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·)\s+")
_DATE_LIKE = re.compile(r"^[\d./ -]+$")
_DATE_SEARCH = {"extensive_search": False, "original_date": True}


def article_from_html(
    body: bytes | str,
    url: str = "",
    *,
    charset: str | None = None,
    source: str = "",
) -> Article:
    """The main article of a web page.

    ``charset`` is the HTTP ``Content-Type`` charset when there is one. ``url``
    (where the page came from) wins over the page's own canonical URL;
    ``source`` is the fallback when the page names no site and ``url`` has no host.
    Raises :class:`IngestError` when the page has no article text.
    """
    html = body if isinstance(body, str) else decode_html(body, charset)
    import trafilatura  # here: ~70 ms of imports that a scan of text files never needs

    doc = trafilatura.bare_extraction(
        html,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        # htmldate's extensive search reads any year in the page: a "© 2022" footer
        # became 2022-01-01. Only what the page marks as its date (meta, <time>, URL).
        date_extraction_params=_DATE_SEARCH,
    )
    meta: dict[str, Any] = {} if doc is None else doc if isinstance(doc, dict) else doc.as_dict()
    text = tidy_lines(meta.get("text") or "")
    if not text:
        raise IngestError("no article text found")
    own_url = str(meta.get("url") or "")
    page_url = url or own_url
    host = domain(page_url)
    site = str(meta.get("sitename") or "") or host or source
    title = str(meta.get("title") or "") or _title_tag(html)
    return Article(
        title=clean_title(title, site, host, domain(own_url)),
        text=text,
        url=page_url,
        source=site,
        published=iso_from_value(meta.get("date")) or "",
    )


def decode_html(body: bytes, charset: str | None = None) -> str:
    """Page bytes → text: BOM, then UTF-8, then the HTTP/meta charset, then detection."""
    declared = charset if codec_name(charset) else None
    if declared is None and not bom_encoding(body):
        declared = meta_charset(body)
    return decode_bytes(body, declared, lenient=True)


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in its first bytes (``<meta charset>``, XML declaration)."""
    head = body[:4096]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", "ignore")
    # A page served as bytes cannot really be UTF-16 if its meta tag is readable
    # as ASCII; browsers treat such a declaration as UTF-8 (HTML spec).
    return "utf-8" if label.lower().startswith("utf-16") else label


def domain(url: str) -> str:
    """``https://www.dw.com/en/…`` → ``dw.com`` (``""`` when there is no host)."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def clean_title(title: str, *names: str) -> str:
    """Drop trailing `` | Site name | 19.01.2020`` parts that pages append to their titles.

    ``names`` are the site's name and host names; ``DW.COM`` also matches ``DW``.
    """
    title = " ".join(title.split())
    keys = {_key(n) for name in names for n in (name, name.split(".")[0])} - {""}
    end = len(title)
    for sep in reversed(list(_TITLE_SEPARATORS.finditer(title))):
        part = title[sep.end() : end]
        if _key(part) not in keys and not _DATE_LIKE.match(part):
            break
        end = sep.start()
    return title[:end]


def _key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold().removeprefix("www."))


def _title_tag(html: str) -> str:
    import lxml.html

    try:
        parser = lxml.html.HTMLParser(encoding="utf-8")
        tree = lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return ""
    return " ".join(tree.findtext(".//title", default="").split())
