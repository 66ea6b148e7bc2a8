"""Readers that turn inputs (stdin, URLs, directories, files, feeds, pages, JSON) into articles.

``read_input`` reads one input and raises :class:`IngestError` when it cannot;
``iter_inputs`` reads many and reports each failure in place. Each source kind
lives in its own module (``feeds``, ``html``, ``jsonfile``, ``textfile``) and
``fetch`` does the HTTP.

The names below are imported from their modules when first asked for: ``alertbot
scan`` of a text file then loads neither the feed nor the HTML reader
(tests/test_startup.py).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from bot.ingest.errors import IngestError

# eager: the function ``fetch`` shares its name with its module, which would replace it
# here when first imported (httpx itself is imported by the first fetch)
from bot.ingest.fetch import FetchError, FetchResult, fetch, fetch_sync

if TYPE_CHECKING:
    from bot.ingest.feeds import FeedResult, parse_feed
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

_HOMES = {
    "FeedResult": "feeds",
    "parse_feed": "feeds",
    "article_from_html": "html",
    "EXTENSIONS": "inputs",
    "articles_from_bytes": "inputs",
    "articles_from_fetch": "inputs",
    "iter_inputs": "inputs",
    "read_input": "inputs",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"bot.ingest.{home}"), name)
    globals()[name] = value
    return value
