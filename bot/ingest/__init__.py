"""Readers that turn inputs (stdin, URLs, directories, files, feeds, pages, JSON) into articles.

``read_input`` reads one input and raises :class:`IngestError` when it cannot;
``iter_inputs`` reads many and reports each failure in place. Each source kind
lives in its own module (``feeds``, ``html``, ``jsonfile``, ``textfile``) and
``fetch`` does the HTTP.
"""

from bot.ingest.errors import IngestError
from bot.ingest.feeds import FeedResult, parse_feed
from bot.ingest.fetch import FetchError, FetchResult, fetch, fetch_sync
from bot.ingest.html import article_from_html
from bot.ingest.inputs import (
    EXTENSIONS,
    articles_from_bytes,
    articles_from_fetch,
    iter_inputs,
    read_input,
)

__all__ = [
    "EXTENSIONS",
    "FeedResult",
    "FetchError",
    "FetchResult",
    "IngestError",
    "article_from_html",
    "articles_from_bytes",
    "articles_from_fetch",
    "fetch",
    "fetch_sync",
    "iter_inputs",
    "parse_feed",
    "read_input",
]
