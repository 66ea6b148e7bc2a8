"""One poll of one source: fetch or read what is new, parse it, say what happened.

No database here: the caller (the scheduler) keeps a :class:`SourceState` per
source (in the store), passes it in, and stores what the :class:`PollOutcome`
says — the new validators, file fingerprints and problem — together with the
articles. :func:`next_state` computes the state for the next poll.

What a poll does, by ``kind``:

- ``feed`` — a conditional GET (``If-None-Match``/``If-Modified-Since`` from
  the state's ``etag``/``last_modified``); 304 gives ``not_modified`` and no
  articles. The body is parsed with :func:`bot.ingest.feeds.parse_feed`,
  after its encoding is checked: a feed whose bytes do not fit the charset it
  declares (a cp1251 feed labelled UTF-8, or not labelled at all) is decoded
  by detection and handed on as UTF-8. With ``fetch_full`` each new entry's
  link is fetched (through the :class:`HostLimiter`, at most
  ``full_text_limit`` per poll) and the page's main text replaces the teaser
  when it is longer; a page that fails keeps its teaser. To avoid fetching the
  same pages on every poll, a ``fetch_full`` feed keeps the links of the
  entries it has already returned in ``seen_files`` (pruned to the links still
  in the feed) and does not return those entries again; entries past the
  limit are returned with their teasers.
- ``page`` — a conditional GET and :func:`bot.ingest.html.article_from_html`:
  one article per poll (the store deduplicates).
- ``auto`` — fetched like a page, then the content decides: a feed or a web
  page; the outcome's ``kind`` says which, for the caller to store.
- ``file`` / ``folder`` (sources with a ``path``) — only files that are new or
  changed since the last poll (fingerprint ``"<mtime_ns>:<size>"``, kept in
  ``seen_files``) are read; the formats and encodings are detected as by
  ``alertbot scan``. In a folder, a file that cannot be read is skipped with
  a ``problem`` line (and not retried until it changes); the others are read.
  For a single ``file`` source, that is the poll's ``error``.

Errors never raise: a poll that failed has ``error`` set (one line, for the
source's health and the backoff, see :func:`next_poll_delay`) and keeps the
state's validators and fingerprints. ``problem`` is for things that did not
stop the poll (a feed recovered from bad XML, a wrong charset, pages that
``fetch_full`` could not get, unreadable files in a folder). The same problem
tends to come back on every poll until the publisher fixes it, so the caller
should log it once per change, not per poll: :func:`new_problem` tells
whether it is worth logging, and ``SourceState.last_problem`` remembers the
last one (a 304 repeats it, since the content it was about has not changed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from bot.ingest.errors import IngestError, one_line
from bot.ingest.feeds import read_feed_bytes
from bot.ingest.fetch import FetchResult, fetch
from bot.ingest.html import article_from_html
from bot.ingest.inputs import EXTENSIONS, articles_from_bytes, is_listed_file
from bot.ingest.sniff import sniff
from bot.models import Article

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 6 * 3600.0
DEFAULT_PER_HOST = 2
DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_BYTES = 5_000_000
DIR_SETTLE_NS = 2_000_000_000  # a folder modified this recently is listed again next poll


@dataclass
class SourceState:
    """What a poll needs to know about its source (the store keeps it between polls).

    ``seen_files`` maps each file of a ``file``/``folder`` source to its
    ``"<mtime_ns>:<size>"`` fingerprint; for a ``fetch_full`` feed it holds
    the links of the entries already returned.
    """

    kind: str
    url: str | None = None
    path: str | None = None
    fetch_full: bool = False
    name: str = ""  # the declared name: the source of a file's articles (not its folder's)
    etag: str | None = None
    last_modified: str | None = None
    seen_files: dict[str, str] = field(default_factory=dict)
    seen_dirs: dict[str, int] = field(default_factory=dict)  # folder → mtime_ns when listed
    last_problem: str | None = None


@dataclass
class PollOutcome:
    """What one poll found. ``error`` set means the poll failed (nothing else is new)."""

    articles: list[Article] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    seen_files: dict[str, str] = field(default_factory=dict)
    seen_dirs: dict[str, int] = field(default_factory=dict)
    problem: str | None = None
    error: str | None = None
    kind: str = ""  # the resolved kind ("feed" or "page" for an "auto" source once fetched)

    @property
    def ok(self) -> bool:
        return self.error is None


def next_state(state: SourceState, outcome: PollOutcome) -> SourceState:
    """The state for the next poll: after a failure the same one, else the outcome's
    kind, validators, fingerprints and problem."""
    if outcome.error is not None:
        return state
    return replace(
        state,
        kind=outcome.kind or state.kind,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
        seen_files=dict(outcome.seen_files),
        seen_dirs=dict(outcome.seen_dirs),
        last_problem=outcome.problem,
    )


def new_problem(state: SourceState, outcome: PollOutcome) -> str | None:
    """``outcome.problem`` when it is worth logging: set, and not the one already logged."""
    if outcome.problem and outcome.problem != state.last_problem:
        return outcome.problem
    return None


class HostLimiter:
    """At most ``per_host`` requests in flight to one host name, across all sources.

    ``async with limiter.slot(url): ...`` waits for a free slot of the URL's
    host. Idle hosts are forgotten, so the table stays as small as the number
    of hosts being fetched right now.
    """

    def __init__(self, per_host: int = DEFAULT_PER_HOST) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @staticmethod
    def host(url: str) -> str:
        try:
            return (urlsplit(url).hostname or "").lower()
        except ValueError:
            return ""

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        key = self.host(url)
        semaphore, users = self._slots.get(key) or (asyncio.Semaphore(self.per_host), 0)
        self._slots[key] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[key]
            if users <= 1:
                del self._slots[key]
            else:
                self._slots[key] = (semaphore, users - 1)

    def in_use(self, url: str) -> int:
        """Requests holding or waiting for a slot of ``url``'s host (for tests and stats)."""
        entry = self._slots.get(self.host(url))
        return entry[1] if entry else 0


class _Uniform(Protocol):
    def uniform(self, a: float, b: float, /) -> float: ...


def next_poll_delay(
    interval_s: float, consecutive_failures: int, *, rng: _Uniform = random
) -> float:
    """Seconds until the next poll.

    After a success (``consecutive_failures == 0``): the interval ±10 % jitter,
    so sources added together do not stay in lockstep. After ``n`` failures in
    a row (counting the poll just made): ``interval × 2ⁿ``, capped at 6 hours
    (or at the interval when that is longer), ±20 % jitter, and never less than
    the longest delay after a success (``1.1 × interval``). ``rng`` is anything
    with ``uniform(a, b)`` (the ``random`` module, a seeded ``random.Random``).
    """
    interval = max(float(interval_s), 0.0)
    if consecutive_failures <= 0:
        return interval * rng.uniform(0.9, 1.1)
    cap = max(MAX_BACKOFF_S, interval)
    base = min(interval * 2.0 ** min(consecutive_failures, 64), cap)
    # Near the cap the -20 % jitter could undercut a success's +10 %: never poll a
    # failing source sooner than a healthy one.
    return max(base * rng.uniform(0.8, 1.2), interval * 1.1)


async def poll(
    state: SourceState,
    *,
    client: httpx.AsyncClient,
    limiter: HostLimiter,
    full_text_limit: int = 20,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    links_client: httpx.AsyncClient | None = None,
) -> PollOutcome:
    """Poll the source described by ``state`` once. Never raises for a source's
    problems: they are in ``outcome.error`` (and ``outcome.problem``).

    ``timeout`` bounds each HTTP exchange and ``max_bytes`` each body (and
    each file read); ``client`` is shared by all polls (connection reuse).
    ``links_client`` (default ``client``) fetches the entries' pages of a
    ``fetch_full`` feed: those addresses come from the feed's content, not
    from whoever declared the source, so they can be guarded even where the
    source's own address is trusted.
    """
    try:
        if state.path is not None:
            return await asyncio.to_thread(_poll_path, state, max_bytes)
        if state.url is None:
            return _failed(state, "the source has neither a url nor a path")
        poller = _Poller(
            state, client, limiter, full_text_limit, timeout, max_bytes, links_client or client
        )
        return await poller.run()
    except Exception as exc:  # a parser bug must not stop the scheduler
        where = state.url or state.path or "source"
        log.exception("%s: unexpected error while polling", where)
        return _failed(
            state, f"{where}: unexpected error: {type(exc).__name__}: {one_line(str(exc))}"
        )


def _failed(state: SourceState, error: str, kind: str | None = None) -> PollOutcome:
    return PollOutcome(
        etag=state.etag,
        last_modified=state.last_modified,
        seen_files=dict(state.seen_files),
        seen_dirs=dict(state.seen_dirs),
        error=one_line(error),
        kind=kind or state.kind,
    )


def _join(*problems: str | None) -> str | None:
    return "; ".join(p for p in problems if p) or None


# --- URLs ------------------------------------------------------------------


@dataclass
class _Poller:
    state: SourceState
    client: httpx.AsyncClient
    limiter: HostLimiter
    full_text_limit: int
    timeout: float
    max_bytes: int
    links_client: httpx.AsyncClient

    @property
    def url(self) -> str:
        assert self.state.url is not None
        return self.state.url

    async def _fetch(
        self, url: str, *, conditional: bool, client: httpx.AsyncClient | None = None
    ) -> FetchResult:
        async with self.limiter.slot(url):
            return await fetch(
                url,
                client=client or self.client,
                etag=self.state.etag if conditional else None,
                last_modified=self.state.last_modified if conditional else None,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
            )

    async def run(self) -> PollOutcome:
        state = self.state
        try:
            result = await self._fetch(self.url, conditional=True)
        except IngestError as exc:  # FetchError, and UnsafeURLError from a request hook
            return _failed(state, str(exc.naming(self.url)))
        if result.not_modified:
            return PollOutcome(
                etag=result.etag,
                last_modified=result.last_modified,
                not_modified=True,
                seen_files=dict(state.seen_files),
                problem=state.last_problem,
                kind=state.kind,
            )
        kind = state.kind
        if kind not in ("feed", "page"):
            found = sniff(result.body, result.content_type)
            if found not in ("feed", "html"):
                what = "JSON" if found == "json" else "plain text"
                return _failed(state, f"{self.url}: is {what}, neither a feed nor a web page")
            kind = "feed" if found == "feed" else "page"
        if kind == "feed":
            return await self._feed(result)
        return await self._page(result)

    async def _page(self, result: FetchResult) -> PollOutcome:
        try:
            article = await asyncio.to_thread(
                article_from_html, result.body, result.final_url, charset=result.charset
            )
        except IngestError as exc:
            return _failed(self.state, str(exc.naming(self.url)), kind="page")
        return self._done(result, [article], kind="page")

    async def _feed(self, result: FetchResult) -> PollOutcome:
        try:
            feed = await asyncio.to_thread(
                read_feed_bytes, result.body, result.final_url, result.headers
            )
        except IngestError as exc:
            reason = exc.reason
            if sniff(result.body, result.content_type) == "html":
                reason = "is a web page, not a feed (declare kind: page, or use the feed's URL)"
            return _failed(self.state, f"{self.url}: {reason}", kind="feed")
        if not self.state.fetch_full:
            return self._done(result, feed.articles, kind="feed", problem=feed.problem)
        articles, seen, missing = await self._full_texts(feed.articles)
        outcome = self._done(result, articles, kind="feed", problem=_join(feed.problem, missing))
        outcome.seen_files = seen
        return outcome

    def _done(
        self, result: FetchResult, articles: list[Article], *, kind: str, problem: str | None = None
    ) -> PollOutcome:
        return PollOutcome(
            articles=articles,
            etag=result.etag,
            last_modified=result.last_modified,
            seen_files=dict(self.state.seen_files),
            problem=problem,
            kind=kind,
        )

    async def _full_texts(
        self, entries: list[Article]
    ) -> tuple[list[Article], dict[str, str], str | None]:
        """New entries with their pages' text, the links seen, and a problem line."""
        before = self.state.seen_files
        new = [a for a in entries if a.url not in before]
        limit = max(self.full_text_limit, 0)
        fetchable = [i for i, a in enumerate(new) if _is_http(a.url)][:limit]
        results = await asyncio.gather(*(self._full_text(new[i]) for i in fetchable))
        articles = list(new)
        failures: list[str] = []
        seen = {a.url: before[a.url] for a in entries if a.url in before}
        for a in new:
            seen[a.url] = "teaser"
        for index, (article, error) in zip(fetchable, results, strict=True):
            articles[index] = article
            if error:
                failures.append(error)
            elif article.text != new[index].text:
                seen[article.url] = "full"
        missing = None
        if failures:
            missing = (
                f"full text unavailable for {len(failures)} of {len(fetchable)} entries"
                f" (kept the teaser): {failures[0]}"
            )
        return articles, seen, missing

    async def _full_text(self, article: Article) -> tuple[Article, str | None]:
        """``article`` with its page's main text when that is longer than the teaser."""
        try:
            page = await self._fetch(article.url, conditional=False, client=self.links_client)
            full = await asyncio.to_thread(
                article_from_html, page.body, page.final_url, charset=page.charset
            )
        except IngestError as exc:
            return article, str(exc.naming(article.url))
        except Exception as exc:  # one odd page must not cost the others
            log.warning("%s: unexpected error reading the full text", article.url, exc_info=True)
            return article, f"{article.url}: unexpected error: {type(exc).__name__}"
        if len(full.text) > len(article.text):
            return replace(article, text=full.text), None
        return article, None


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


# --- feed bytes ------------------------------------------------------------


# --- files and folders -----------------------------------------------------


def _poll_path(state: SourceState, max_bytes: int) -> PollOutcome:
    """A ``file`` or ``folder`` poll (blocking; :func:`poll` runs it in a thread)."""
    assert state.path is not None
    path = state.path
    seen_dirs: dict[str, int] = {}
    if os.path.isdir(path):
        kind = "folder"
        files, seen_dirs = folder_files(path, state.seen_files, state.seen_dirs)
    elif os.path.isfile(path):
        kind, files = "file", [path]
    else:
        return _failed(state, f"{path}: no such file or folder")
    articles: list[Article] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            info = os.stat(file)
        except OSError:
            continue  # gone since it was listed
        fingerprint = f"{info.st_mtime_ns}:{info.st_size}"
        seen[file] = fingerprint
        if state.seen_files.get(file) == fingerprint:
            continue
        try:
            found, problem = _read_file(file, info.st_size, max_bytes, state.name)
        except IngestError as exc:
            if kind == "file":
                return _failed(state, str(exc.naming(file)), kind="file")
            problems.append(str(exc.naming(file)))
            continue
        articles.extend(found)
        if problem:
            problems.append(f"{file}: {problem}")
    problem = None
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        problem = problems[0] + more if kind == "folder" else problems[0]
    return PollOutcome(
        articles=articles,
        etag=state.etag,
        last_modified=state.last_modified,
        seen_files=seen,
        seen_dirs=seen_dirs,
        problem=problem,
        kind=kind,
    )


def folder_files(
    root: str, seen_files: dict[str, str], seen_dirs: dict[str, int]
) -> tuple[list[str], dict[str, int]]:
    """The files of folder ``root`` in :func:`bot.ingest.inputs.list_files`'s order, and
    the folders' mtimes to remember.

    A folder whose ``mtime_ns`` is the one in ``seen_dirs`` has the entries it had
    when listed (adding, removing or renaming an entry changes it): its files and
    subfolders are taken from the index (``seen_files``, ``seen_dirs``) instead of
    listing it again. A folder modified less than DIR_SETTLE_NS before it was
    listed is not remembered (a file added within the same clock tick would not
    move its mtime), so it is listed again next time.
    """
    now_ns = time.time_ns()
    known: dict[str, tuple[list[str], list[str]]] | None = None
    stamps: dict[str, int] = {}
    found: list[tuple[list[str], str]] = []
    stack = [root]
    cut = len(os.path.join(root, ""))
    while stack:
        folder = stack.pop()
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            continue
        if seen_dirs.get(folder) == mtime:
            if known is None:
                known = _index_children(seen_files, seen_dirs)
            files, folders = known.get(folder, ([], []))
        else:
            files, folders = _list_folder(folder)
        if now_ns - mtime > DIR_SETTLE_NS:
            stamps[folder] = mtime
        for file in files:
            found.append((file[cut:].split(os.sep), file))
        stack.extend(folders)
    found.sort()
    return [file for _, file in found], stamps


def _list_folder(folder: str) -> tuple[list[str], list[str]]:
    """The readable files and the subfolders (not hidden, not symlinks: as ``os.walk``)
    directly in ``folder``."""
    files: list[str] = []
    folders: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return files, folders
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if not entry.is_symlink():
                folders.append(entry.path)
        elif is_listed_file(name):
            files.append(entry.path)
    return files, folders


def _index_children(
    seen_files: dict[str, str], seen_dirs: dict[str, int]
) -> dict[str, tuple[list[str], list[str]]]:
    """folder → (its files, its subfolders), from the last poll's index."""
    children: dict[str, tuple[list[str], list[str]]] = {}
    for file in seen_files:
        children.setdefault(os.path.dirname(file), ([], []))[0].append(file)
    for folder in seen_dirs:
        children.setdefault(os.path.dirname(folder), ([], []))[1].append(folder)
    return children


def _read_file(
    path: str, size: int, max_bytes: int, name: str = ""
) -> tuple[list[Article], str | None]:
    """The articles in one file and a problem (a recovered feed), like ``read_file``.

    Their source is ``name``, the source's declared name (else the file's folder);
    a feed file's entries keep the feed's own, as a fetched feed's do."""
    if size > max_bytes:
        raise IngestError(f"file of {size:,} bytes exceeds the {max_bytes:,}-byte limit")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(exc.strerror or str(exc)) from exc
    fmt = EXTENSIONS.get(Path(path).suffix.lower()) or sniff(data)
    source = name or Path(path).resolve().parent.name
    if fmt == "feed":
        feed = read_feed_bytes(data)
        return feed.articles, feed.problem
    return articles_from_bytes(data, fmt, name=path, source=source), None
