"""``alertbot scan`` inputs: ``-``, URLs, directories and files → articles."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from bot.ingest.errors import IngestError
from bot.ingest.sniff import sniff
from bot.ingest.textfile import article_from_text, decode_bytes
from bot.models import Article

if TYPE_CHECKING:  # httpx (and asyncio) load only when a URL is read
    from bot.ingest.fetch import FetchResult

log = logging.getLogger(__name__)

Format = Literal["feed", "html", "json", "jsonl", "text", "markdown"]

EXTENSIONS: dict[str, Format] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".feed": "feed",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
STDIN_NAME = "<stdin>"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

Result = list[Article] | IngestError


def read_input(spec: str, *, stdin: BinaryIO | None = None) -> list[Article]:
    """Articles from one input: ``-`` (stdin), an http(s) URL, a directory or a file.

    Raises :class:`IngestError` (one line, naming the input) when it cannot be
    read; for a directory, at the first bad file (:func:`iter_inputs` goes on).
    """
    if spec == "-":
        return _named(STDIN_NAME, lambda: _read_stdin(stdin))
    if _SCHEME.match(spec):
        return _named(spec, lambda: read_url(spec))
    if os.path.isdir(spec):
        files = _files_or_error(spec)
        return [article for path in files for article in read_file(path)]
    return read_file(spec)


def iter_inputs(
    specs: Iterable[str], *, stdin: BinaryIO | None = None
) -> Iterator[tuple[str, Result]]:
    """``(name, articles or error)`` for every input; never raises for a bad one.

    Directories are expanded so that each file gets its own entry and one bad
    file does not hide the others.
    """
    for spec in specs:
        if spec != "-" and not _SCHEME.match(spec) and os.path.isdir(spec):
            try:
                files = _files_or_error(spec)
            except IngestError as exc:
                yield spec, exc
                continue
            for path in files:
                yield path, _safely(path, partial(read_file, path))
        else:
            name = STDIN_NAME if spec == "-" else spec
            yield name, _safely(name, partial(read_input, spec, stdin=stdin))


def read_file(path: str) -> list[Article]:
    """Articles in one file; the format comes from the extension, else from the content."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(exc.strerror or str(exc), path) from exc
    fmt = EXTENSIONS.get(Path(path).suffix.lower()) or sniff(data)
    folder = Path(path).resolve().parent.name
    return _named(path, lambda: articles_from_bytes(data, fmt, name=path, source=folder))


def read_url(url: str) -> list[Article]:
    """Fetch ``url`` (blocking) and read what came back."""
    from bot.ingest.fetch import fetch_sync

    return articles_from_fetch(fetch_sync(url))


def articles_from_fetch(result: FetchResult) -> list[Article]:
    """A fetched body as a feed, page, JSON or text, judged by its content and type.

    The async poller calls this on ``await fetch(...)``; a 304 gives no articles.
    """
    if result.not_modified:
        return []
    from bot.ingest.html import domain

    fmt = sniff(result.body, result.content_type)
    return articles_from_bytes(
        result.body,
        fmt,
        url=result.final_url,
        source=domain(result.final_url),
        charset=result.charset,
        headers=result.headers,
    )


def articles_from_bytes(
    data: bytes,
    fmt: Format,
    *,
    url: str = "",
    name: str = "",
    source: str = "",
    charset: str | None = None,
    headers: dict[str, str] | None = None,
) -> list[Article]:
    """Read ``data`` as ``fmt``. ``url`` is where it came from on the web; ``name``
    (a file path) stands in for it when the content names no URL of its own.

    The reader of each kind is imported when one is read: a text file's scan loads no
    feed, HTML or JSON reader (tests/test_startup.py)."""
    if fmt == "feed":
        from bot.ingest.feeds import read_feed_bytes

        feed = read_feed_bytes(data, url, headers)
        if feed.problem:
            log.warning("%s: %s (kept what could be read)", url or name, feed.problem)
        return [_with_url(a, name) for a in feed.articles]
    if fmt == "html":
        from bot.ingest.html import article_from_html

        return [_with_url(article_from_html(data, url, charset=charset, source=source), name)]
    text = decode_bytes(data, charset)
    if fmt in ("json", "jsonl"):
        from bot.ingest.jsonfile import articles_from_json

        return articles_from_json(
            text, url=url or name, source=source, lines=True if fmt == "jsonl" else None
        )
    return [article_from_text(text, url or name, source, markdown=fmt == "markdown")]


DOC_FILES = ("readme", "license", "licence", "changelog", "contributing")


def _is_doc_file(name: str) -> bool:
    """A folder's own README or LICENSE is not an article (name the file to scan it)."""
    return Path(name).stem.lower() in DOC_FILES


def is_listed_file(name: str) -> bool:
    """A file name :func:`list_files` keeps: not hidden, a known extension, not README/LICENSE."""
    if name.startswith(".") or os.path.splitext(name)[1].lower() not in EXTENSIONS:
        return False
    return not _is_doc_file(name)


def list_files(directory: str) -> list[str]:
    """Readable files under ``directory``, recursively, sorted.

    Hidden files, unknown extensions and a folder's README/LICENSE files are skipped.
    """
    found: list[tuple[tuple[str, ...], str]] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file in files:
            if file.startswith(".") or Path(file).suffix.lower() not in EXTENSIONS:
                continue
            if _is_doc_file(file):
                continue
            path = os.path.join(root, file)
            found.append((Path(os.path.relpath(path, directory)).parts, path))
    return [path for _, path in sorted(found)]


def _files_or_error(directory: str) -> list[str]:
    files = list_files(directory)
    if not files:
        known = " ".join(sorted(EXTENSIONS))
        raise IngestError(f"no readable files (looked for {known})", directory)
    return files


def _read_stdin(stdin: BinaryIO | None) -> list[Article]:
    data = (stdin or sys.stdin.buffer).read()
    if not data.strip():
        raise IngestError("is empty")
    return articles_from_bytes(data, sniff(data), source="stdin")


def _with_url(article: Article, name: str) -> Article:
    return article if article.url or not name else replace(article, url=name)


def _named(name: str, read: Callable[[], list[Article]]) -> list[Article]:
    """Run ``read``, giving any :class:`IngestError` the input's name."""
    try:
        return read()
    except IngestError as exc:
        raise exc.naming(name) from exc.__cause__


def _safely(name: str, read: Callable[[], list[Article]]) -> Result:
    """``read()`` or the error it raised; an unexpected one is logged and returned too."""
    try:
        return read()
    except IngestError as exc:
        return exc.naming(name)
    except Exception as exc:  # a parser bug must not sink the other inputs
        log.exception("%s: unexpected error while reading", name)
        return IngestError(f"unexpected error: {type(exc).__name__}: {exc}", name)
